// The container commands: run, ps, exec, inspect, port, stop, rm.
import { Command, Option } from 'commander';
import { inspectContainer, portLines, psJson, psRows } from '../engine/views.js';
import { engineFor } from './context.js';
import { asCommandStatus, collect, parseFormat, printJson, table } from './output.js';

interface RunFlags {
  detach?: boolean;
  name?: string;
  network?: string;
  publish: string[];
  ip?: string;
  networkAlias: string[];
  hostname?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  addHost: string[];
}

const format = () => new Option('--format <format>', 'table or json').default('table').argParser(parseFormat);

export function containerCommands(): Command[] {
  const run = new Command('run')
    .description('create a container: a network namespace attached to a network, running CMD')
    .usage('[options] -- CMD [ARG...]')
    .argument('<cmd...>', 'the command and its arguments (after --)')
    .option('-d, --detach', 'run in the background and print the container id')
    .option('--name <name>', 'container name')
    .option('--network <net>', 'bridge (default), a network name, host, none or container:NAME')
    .option('-p, --publish <spec>', "publish a port, Docker's grammar: [IP:][HOSTPORT:]PORT[/PROTO] (repeatable)", collect, [])
    .option('--ip <address>', 'address to request on the network')
    .option('--network-alias <name>', 'network-scoped name (repeatable; user networks)', collect, [])
    .option('-h, --hostname <name>', 'container hostname (default: its short id)')
    .option('--dns <ip>', 'nameserver (repeatable)', collect, [])
    .option('--dns-search <domain>', "search domain (repeatable; '.' for none)", collect, [])
    .option('--dns-option <opt>', 'resolver option, e.g. ndots:2 (repeatable)', collect, [])
    .option('--add-host <name:ip>', 'extra /etc/hosts entry (repeatable; ip may be host-gateway)', collect, [])
    .passThroughOptions()
    .action(async (cmdArgs: string[], o: RunFlags, cmd: Command) => {
      await asCommandStatus(async () => {
        const { record, exitCode } = await engineFor(cmd).run({
          command: cmdArgs,
          ...(o.name ? { name: o.name } : {}),
          ...(o.network ? { network: o.network } : {}),
          publish: o.publish,
          ...(o.ip ? { ip: o.ip } : {}),
          aliases: o.networkAlias,
          detach: o.detach ?? false,
          ...(o.hostname ? { hostname: o.hostname } : {}),
          dns: o.dns,
          dnsSearch: o.dnsSearch,
          dnsOptions: o.dnsOption,
          addHosts: o.addHost,
        });
        if (o.detach) console.log(record.id);
        return exitCode;
      });
    });

  const ps = new Command('ps')
    .description('list containers (running ones; -a for all)')
    .option('-a, --all', 'also stopped and created containers')
    .option('-q, --quiet', 'only ids')
    .addOption(format())
    .action(async (o: { all?: boolean; quiet?: boolean; format: string }, cmd: Command) => {
      const views = (await engineFor(cmd).listContainers()).filter((v) => o.all || v.running);
      if (o.quiet) for (const v of views) console.log(v.record.id.slice(0, 12));
      else if (o.format === 'json') printJson(psJson(views));
      else console.log(table(psRows(views)));
    });

  const exec = new Command('exec')
    .description("run a command in a running container's namespaces")
    .usage('[options] CONTAINER -- CMD [ARG...]')
    .argument('<container>')
    .argument('<cmd...>')
    .passThroughOptions()
    .action(async (ref: string, cmdArgs: string[], _o: unknown, cmd: Command) => {
      // After the first positional everything passes through, the `--` separator included.
      const command = cmdArgs[0] === '--' ? cmdArgs.slice(1) : cmdArgs;
      if (command.length === 0) throw new Error('exec needs a command');
      await asCommandStatus(() => engineFor(cmd).exec(ref, command));
    });

  const inspect = new Command('inspect')
    .description("show containers in Docker's JSON shape")
    .argument('<container...>')
    .addOption(format().default('json'))
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const engine = engineFor(cmd);
      const ids = new Map((await engine.listNetworks()).map((n) => [n.name, n.id]));
      const out = [];
      for (const ref of refs) out.push(inspectContainer(await engine.container(ref), ids));
      printJson(out);
    });

  const port = new Command('port')
    .description("list a container's published ports, or the host address of one (Docker's format)")
    .argument('<container>')
    .argument('[port]', 'PORT[/PROTO]')
    .action(async (ref: string, filter: string | undefined, _o: unknown, cmd: Command) => {
      const { record } = await engineFor(cmd).container(ref);
      for (const line of portLines(record, filter)) console.log(line);
    });

  const stop = new Command('stop')
    .description('stop containers: SIGTERM, then SIGKILL after the grace time (the network stays until rm)')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'grace time before SIGKILL', '10')
    .action(async (refs: string[], o: { time: string }, cmd: Command) => {
      const seconds = Number(o.time);
      if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`invalid --time ${JSON.stringify(o.time)}: expected seconds`);
      const engine = engineFor(cmd);
      for (const ref of refs) console.log((await engine.stop(ref, seconds * 1000)).name);
    });

  const rm = new Command('rm')
    .description('remove containers: DEL of every attachment (addresses, rules, ports), namespace, record')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container first')
    .action(async (refs: string[], o: { force?: boolean }, cmd: Command) => {
      const engine = engineFor(cmd);
      const failures: string[] = [];
      for (const ref of refs) {
        try {
          console.log((await engine.remove(ref, o.force ?? false)).name);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
      if (failures.length) throw new Error(failures.join('; '));
    });

  return [run, ps, exec, inspect, port, stop, rm];
}
