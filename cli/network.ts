// `ctnet network create|ls|inspect|connect|disconnect|rm|prune`: Docker's network commands.
import { Command, Option } from 'commander';
import { inspectNetwork, networkRows } from '../engine/views.js';
import { engineFor } from './context.js';
import { collect, keyValues, parseFormat, printJson, table } from './output.js';

interface CreateOptions {
  driver: string;
  subnet: string[];
  gateway: string[];
  ipRange: string[];
  ipv6?: boolean;
  internal?: boolean;
  label: string[];
  opt: string[];
}

export function networkCommand(): Command {
  const network = new Command('network').description('manage networks');
  const format = () => new Option('--format <format>', 'table or json').default('table').argParser(parseFormat);

  network
    .command('create')
    .description('create a bridge network (subnet chosen from the address pools unless given)')
    .argument('<name>')
    .option('-d, --driver <driver>', 'network driver (only bridge)', 'bridge')
    .option('--subnet <cidr>', 'subnet in CIDR notation (repeatable: one per family)', collect, [])
    .option('--gateway <ip>', 'gateway of a --subnet (repeatable)', collect, [])
    .option('--ip-range <cidr>', 'allocate container addresses from this part of a --subnet (repeatable)', collect, [])
    .option('--ipv6', 'also give the network an IPv6 subnet')
    .option('--internal', 'no masquerade and no route out')
    .option('--label <key=value>', 'metadata (repeatable)', collect, [])
    .option('-o, --opt <key=value>', 'driver option, e.g. com.docker.network.bridge.name=br0 (repeatable)', collect, [])
    .action(async (name: string, o: CreateOptions, cmd: Command) => {
      const doc = await engineFor(cmd).createNetwork({
        name,
        driver: o.driver,
        subnets: o.subnet,
        gateways: o.gateway,
        ipRanges: o.ipRange,
        ipv6: o.ipv6 ?? false,
        internal: o.internal ?? false,
        labels: keyValues(o.label, '--label'),
        options: keyValues(o.opt, '--opt'),
      });
      console.log(doc.ctnet.id);
    });

  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('-q, --quiet', 'only ids')
    .addOption(format())
    .action(async (o: { quiet?: boolean; format: string }, cmd: Command) => {
      const engine = engineFor(cmd);
      const networks = await engine.listNetworks();
      if (o.quiet) for (const n of networks) console.log(n.id.slice(0, 12));
      else if (o.format === 'json') {
        const containers = await engine.containers.list();
        printJson(networks.map((n) => inspectNetwork(n, containers)));
      } else console.log(table(networkRows(networks)));
    });

  network
    .command('inspect')
    .description("show networks in Docker's JSON shape")
    .argument('<network...>')
    .addOption(format().default('json'))
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const engine = engineFor(cmd);
      const containers = await engine.containers.list();
      const out = [];
      for (const ref of refs) out.push(inspectNetwork(await engine.network(ref), containers));
      printJson(out);
    });

  network
    .command('connect')
    .description('attach a running or stopped container to a network (next free ethN)')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <address>', 'IPv4 or IPv6 address to request')
    .option('--alias <name>', 'network-scoped name for the container (repeatable)', collect, [])
    .action(async (net: string, ctr: string, o: { ip?: string; alias: string[] }, cmd: Command) => {
      await engineFor(cmd).connect(net, ctr, { ...(o.ip ? { ip: o.ip } : {}), aliases: o.alias });
    });

  network
    .command('disconnect')
    .description('detach a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'accepted for Docker compatibility')
    .action(async (net: string, ctr: string, _o: unknown, cmd: Command) => {
      await engineFor(cmd).disconnect(net, ctr);
    });

  network
    .command('rm')
    .alias('remove')
    .description('remove networks (refused while containers are attached)')
    .argument('<network...>')
    .action(async (refs: string[], _o: unknown, cmd: Command) => {
      const engine = engineFor(cmd);
      const failures: string[] = [];
      for (const ref of refs) {
        try {
          console.log(await engine.removeNetwork(ref));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
      if (failures.length) throw new Error(failures.join('; '));
    });

  network
    .command('prune')
    .description('remove every user network no container is attached to')
    .option('-f, --force', 'accepted for Docker compatibility (ctnet does not prompt)')
    .action(async (_o: unknown, cmd: Command) => {
      const removed = await engineFor(cmd).pruneNetworks();
      if (removed.length) console.log(`Deleted Networks:\n${removed.join('\n')}`);
    });

  return network;
}
