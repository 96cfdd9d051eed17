// The `ctnet` command: version, plugins, docker-plugin, plugin-server, and the engine commands (network.ts,
// container.ts). Exit status: 0 success; 1 a ctnet error (one line `ctnet: <message>` on stderr);
// 2 a usage error; `run` and `exec`: the command's own status, 125 when ctnet fails before it.
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { SUPPORTED_VERSIONS } from '../cni/version.js';
import { DAEMON_ARG } from '../dns/pid-file.js';
import { containerCommands } from './container.js';
import { pluginDir } from './context.js';
import { networkCommand } from './network.js';
import { systemCommand } from './system.js';

const VERSION = '0.1.0';
const USAGE_ERROR = 2;

const program = new Command('ctnet')
  .description('Container networking: CNI plugins and a Docker-style network engine')
  .version(VERSION, '-v, --version')
  .option('--root <dir>', 'state directory (default: $CTNET_ROOT, else /var/lib/ctnet)')
  .option('--config <file>', 'daemon config (default: /etc/ctnet/daemon.json when present)')
  .enablePositionalOptions()
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('version')
  .description('print the version and the CNI spec versions the plugins speak')
  .action(() => {
    console.log(`ctnet ${VERSION}\nCNI spec versions: ${SUPPORTED_VERSIONS.join(', ')}`);
  });

program
  .command('plugins')
  .description('list the CNI plugin executables and the directory to use as CNI_PATH')
  .action(() => {
    const dir = pluginDir();
    console.log(`CNI_PATH=${dir}`);
    for (const name of readdirSync(dir).sort()) console.log(`  ${name}`);
  });

program
  .command('docker-plugin')
  .description("serve Docker's remote network and IPAM driver protocols (run it in the host namespace, before dockerd)")
  .argument('[options...]', '--name NAME, --state-dir DIR, --socket-dir DIR (see docker-plugin --help)')
  .allowUnknownOption()
  .helpOption(false)
  .action(async (options: string[]) => {
    const { main } = await import('../docker/daemon.js');
    await main(options);
  });

program
  .command('plugin-server')
  .description('keep warm processes for the CNI plugins of this network namespace, so that a plugin run does not wait for node to start (optional; see README)')
  .option('--spares <n>', 'workers kept started and waiting', '6')
  .option('--verbose', 'log every run handed over')
  .action(async (o: { spares: string; verbose?: boolean }) => {
    const { startPluginServer } = await import('../plugin-server/server.js');
    const spares = Number(o.spares);
    const server = await startPluginServer({ spares, verbose: o.verbose === true });
    const stop = () => void server.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // Runs until a signal: commander must not see the action end as the command's end.
    await new Promise(() => {});
  });

program.addCommand(networkCommand());
for (const c of containerCommands()) program.addCommand(c);
program.addCommand(systemCommand());
// Every subcommand reports its errors through the handler below, never by exiting itself.
const exitOverride = (cmd: Command): void => {
  cmd.exitOverride();
  cmd.commands.forEach(exitOverride);
};
exitOverride(program);

async function main(): Promise<void> {
  // The DNS responder daemon the engine starts: `ctnet --state-dir DIR` (dns/launch.ts appends that argument).
  if (process.argv[2] === DAEMON_ARG) {
    await import('../dns/daemon.js');
    return;
  }
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version "fail" with status 0; everything else commander refuses is a usage error.
    process.exit(err.exitCode === 0 ? 0 : USAGE_ERROR);
  }
  // One clear line, no stack trace.
  console.error(`ctnet: ${(err as Error).message}`);
  process.exit((err as { exitCode?: number }).exitCode ?? 1);
});
