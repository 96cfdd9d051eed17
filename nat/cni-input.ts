// What the chained plugins (portmap, firewall) read from their CNI input: the container's
// addresses and the host-side interface from prevResult.
import type { Result } from '../cni/types.js';

/**
 * The addresses of the container interface `ifname`: those whose interface index points at it (a
 * sandbox interface of that name), and those without an index (plugins that do not set one).
 */
export function containerAddresses(result: Result, ifname: string): string[] {
  const ifs = result.interfaces ?? [];
  return (result.ips ?? [])
    .filter((ip) => {
      const i = ip.interface;
      if (i === undefined || i < 0 || i >= ifs.length) return true;
      return ifs[i]!.name === ifname && !!ifs[i]!.sandbox;
    })
    .map((ip) => ip.address);
}

/** The first address of each family (DNAT has one destination per family). */
export function firstPerFamily(addresses: readonly string[]): string[] {
  const v4 = addresses.find((a) => !a.includes(':'));
  const v6 = addresses.find((a) => a.includes(':'));
  return [v4, v6].filter((a): a is string => a !== undefined);
}

/** The host side of the attachment: the first interface without a sandbox (a bridge first, else a ptp veth). */
export function hostInterface(result: Result): string | undefined {
  return (result.interfaces ?? []).find((i) => !i.sandbox && i.name)?.name;
}
