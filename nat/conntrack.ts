// Stale UDP conntrack entries. A UDP "connection" to a host port lives on in conntrack as long as
// packets keep coming, with the translation it was created with: one from before a publication (no
// DNAT, to the host) or to a container that is gone keeps catching the traffic. ADD and DEL flush
// the entries of their UDP host ports so the next packet is translated afresh. Failures are only
// reported: the rules are right either way.
import { runProgram } from './exec.js';
import type { Family } from './types.js';

/** Up to this many ports are flushed one `conntrack -D` each; larger ranges list the table once. */
const DIRECT_LIMIT = 8;

export interface UdpPorts {
  family: Family;
  hostPort: number;
  hostPortEnd: number;
}

type Log = (message: string) => void;

const conntrack = (args: string[]) => runProgram('conntrack', args, { timeoutMs: 30_000 });

const familyArg = (family: Family) => (family === 4 ? 'ipv4' : 'ipv6');

async function deletePort(family: Family, port: number, log: Log): Promise<void> {
  const r = await conntrack(['-D', '-f', familyArg(family), '-p', 'udp', '--orig-port-dst', String(port)]);
  // Status 1 with "0 flow entries have been deleted" only says there was nothing to flush.
  if (r.exitCode !== 0 && !/0 flow entries/.test(r.stderr)) {
    log(`cannot flush UDP conntrack entries of port ${port} (IPv${family}): ${r.stderr.trim() || r.reason}`);
  }
}

/** The original-direction destination ports of the UDP entries (`conntrack -L` prints the original tuple first). */
export function listedPorts(text: string): number[] {
  return text.split('\n').flatMap((line) => {
    const m = /\bdport=(\d+)/.exec(line);
    return m ? [Number(m[1])] : [];
  });
}

export async function flushUdp(ports: readonly UdpPorts[], log: Log = () => {}): Promise<void> {
  await Promise.all(
    ([4, 6] as const).map(async (family) => {
      const ranges = ports.filter((p) => p.family === family);
      const count = ranges.reduce((n, r) => n + r.hostPortEnd - r.hostPort + 1, 0);
      if (count === 0) return;
      let targets: number[];
      if (count <= DIRECT_LIMIT) {
        targets = ranges.flatMap((r) => Array.from({ length: r.hostPortEnd - r.hostPort + 1 }, (_, i) => r.hostPort + i));
      } else {
        const listed = await conntrack(['-L', '-f', familyArg(family), '-p', 'udp']);
        if (listed.exitCode !== 0) {
          log(`cannot list UDP conntrack entries (IPv${family}): ${listed.stderr.trim() || listed.reason}`);
          return;
        }
        targets = [...new Set(listedPorts(listed.stdout))].filter((p) => ranges.some((r) => p >= r.hostPort && p <= r.hostPortEnd));
      }
      await Promise.all([...new Set(targets)].map((p) => deletePort(family, p, log)));
    }),
  );
}
