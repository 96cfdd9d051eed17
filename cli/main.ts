// The `ctnet` command: version, plugins, docker-plugin, and the engine commands.
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUPPORTED_VERSIONS } from '../cni/version.js';

const VERSION = '0.1.0';

/** bin/cni beside this checkout's bundles: the plugins a runtime can use. */
function pluginDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!readdirSync(dir).includes('package.json') && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'bin', 'cni');
}

const program = new Command('ctnet')
  .description('Container networking: CNI plugins and a Docker-style network engine')
  .version(VERSION, '-v, --version')
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

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // One clear line, no stack trace.
  console.error(`ctnet: ${(err as Error).message}`);
  process.exit(1);
});
