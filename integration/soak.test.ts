// A bounded concurrency soak: workers run ADD / CHECK / DEL cycles of the bridge plugin (masquerade
// and a published port, dual stack) on two networks at once, some of them competing for the same
// host port. Throughout, no address is ever live twice and a port is never held twice; afterwards
// every reservation is gone, the ruleset is back to its baseline and no lock is left held.
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, type Container } from './sandbox.js';

const WORKERS = 4;
const CYCLES = 6;
/** Stops starting new cycles after this long, so a slow machine keeps the suite in its budget. */
const BUDGET_MS = 60_000;

interface Net {
  name: string;
  bridge: string;
  v4: string;
  v6: string;
}
const NETS: Net[] = [
  { name: 'soak1', bridge: 'ctsoak1', v4: '10.71.0', v6: 'fd71::' },
  { name: 'soak2', bridge: 'ctsoak2', v4: '10.72.0', v6: 'fd72::' },
];

test('workers on two networks: no address or port live twice; afterwards no reservation, rule or held lock remains', async (t) => {
  const sb = await Sandbox.create(t);
  const ipamDir = join(sb.stateDir, 'ipam');
  const conf = (net: Net, hostPort: number) => ({
    cniVersion: '1.1.0',
    name: net.name,
    type: 'bridge',
    bridge: net.bridge,
    isDefaultGateway: true,
    ipMasq: true,
    capabilities: { portMappings: true },
    runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] },
    // Small pools: addresses are re-used while others are released.
    ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: `${net.v4}.0/29` }], [{ subnet: `${net.v6}/120` }]] },
  });
  const run = (command: string, net: Net, hostPort: number, c: Container, id: string, prevResult?: unknown) =>
    sb.plugin('bridge', { command, config: { ...conf(net, hostPort), ...(prevResult ? { prevResult } : {}) }, containerId: id, netns: c.path });
  const ruleset = async () => {
    const lines = async (cmd: string) => (await sb.exec(cmd, [])).stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
    return [...(await lines('iptables-save')), ...(await lines('ip6tables-save'))];
  };

  // The baseline: ctnet's shared chains exist once anything was published.
  const warm = await sb.container('warm');
  t.is((await run('ADD', NETS[0]!, 9999, warm, 'warm')).exitCode, 0);
  t.is((await run('DEL', NETS[0]!, 9999, warm, 'warm')).exitCode, 0);
  const baseline = await ruleset();

  const live = new Map<string, string>(); // address -> holder
  const ports = new Map<number, string>(); // host port -> holder
  const violations: string[] = [];
  const counts = { add: 0, del: 0, check: 0, portConflicts: 0 };
  const started = Date.now();

  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      const c = await sb.container(`w${w}`);
      for (let i = 0; i < CYCLES && Date.now() - started < BUDGET_MS; i++) {
        const net = NETS[(w + i) % NETS.length]!;
        // Workers 0/1 and 2/3 compete for one port each on odd cycles.
        const hostPort = i % 2 === 1 ? 8000 + (w >> 1) : 8100 + w;
        const id = `w${w}-${i}`;
        const add = await run('ADD', net, hostPort, c, id);
        if (add.exitCode !== 0) {
          if (add.json?.code === 102) {
            counts.portConflicts++;
            continue;
          }
          violations.push(`ADD ${id}: ${add.stdout}`);
          continue;
        }
        counts.add++;
        const addrs: string[] = add.json.ips.map((ip: any) => `${net.name}/${String(ip.address).split('/')[0]}`);
        for (const a of addrs) {
          if (live.has(a)) violations.push(`${a} handed to ${id} while ${live.get(a)} holds it`);
          live.set(a, id);
        }
        if (ports.has(hostPort)) violations.push(`port ${hostPort} given to ${id} while ${ports.get(hostPort)} holds it`);
        ports.set(hostPort, id);
        const check = await run('CHECK', net, hostPort, c, id, add.json);
        if (check.exitCode !== 0) violations.push(`CHECK ${id}: ${check.stdout}`);
        counts.check++;
        // Released from the books before DEL starts: DEL may hand them out the moment it releases them.
        for (const a of addrs) live.delete(a);
        ports.delete(hostPort);
        const del = await run('DEL', net, hostPort, c, id);
        if (del.exitCode !== 0) violations.push(`DEL ${id}: ${del.stdout}`);
        counts.del++;
      }
    }),
  );
  t.log(counts);
  t.deepEqual(violations, []);
  t.true(counts.add >= WORKERS, 'the soak did work');

  for (const net of NETS) {
    const dir = join(ipamDir, net.name);
    const held = existsSync(dir) ? readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')) : [];
    t.deepEqual(held, [], `${net.name}: no reservation left`);
  }
  const portsDir = join(sb.stateDir, 'ports');
  t.deepEqual(existsSync(portsDir) ? readdirSync(portsDir).filter((f) => f !== 'lock') : [], [], 'no host port reserved');
  t.deepEqual(await ruleset(), baseline, 'the ruleset is back to its baseline');
  // No lock is left held: a non-blocking exclusive flock on each succeeds at once.
  const locks = [...NETS.map((n) => join(ipamDir, n.name, 'lock')), join(portsDir, 'lock'), join(sb.stateDir, 'iptables.lock')].filter((p) => existsSync(p));
  t.true(locks.length >= 2);
  for (const lock of locks) t.is((await sb.exec('flock', ['-n', '-x', lock, 'true'], undefined, { reject: false })).exitCode, 0, lock);
});
