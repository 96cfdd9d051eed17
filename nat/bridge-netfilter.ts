// Rules that filter traffic between two ports of one bridge (icc=false, ingressPolicy "isolated")
// only see it when bridged frames pass through iptables: br_netfilter loaded, and its
// bridge-nf-call-ip(6)tables switches on in this namespace. Without them such rules are silently
// inert, so the switch is turned on (as Docker does) and a missing module is loaded or reported.
import { existsSync } from 'node:fs';
import { CniError, ErrorCode } from '../cni/errors.js';
import { writeSysctl } from '../netlink/sysctl.js';
import { runProgram } from './exec.js';
import type { Family } from './types.js';

const SWITCH = { 4: 'net/bridge/bridge-nf-call-iptables', 6: 'net/bridge/bridge-nf-call-ip6tables' } as const;

export async function ensureBridgeFiltering(families: readonly Family[], why: string): Promise<void> {
  if (families.length === 0) return;
  if (!existsSync(`/proc/sys/${SWITCH[4]}`)) {
    const r = await runProgram('modprobe', ['br_netfilter'], { timeoutMs: 30_000 });
    if (!existsSync(`/proc/sys/${SWITCH[4]}`)) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `${why} needs the kernel's br_netfilter module, which is not loaded and could not be loaded: ${r.stderr.trim() || r.reason || `modprobe exited with ${r.exitCode}`}`,
        'load it with "modprobe br_netfilter" (and add it to /etc/modules-load.d)',
      );
    }
  }
  for (const family of families) writeSysctl(SWITCH[family], '1');
}
