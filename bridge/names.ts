// Names and addresses derived from stable inputs, so every process (and every retry) agrees on
// them without shared state, and DEL can find what ADD made without a record.

/** FNV-1a, 32 bits: a tiny stable hash (node:crypto costs ~4 ms of start-up). */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/** The host end of a container's veth: "veth" + 8 hex characters, from the attachment's identity. */
export function hostVethName(containerId: string, ifname: string): string {
  return `veth${hex8(fnv1a(`${containerId}/${ifname}`))}`;
}

/**
 * A locally administered unicast MAC for the bridge, from its name. Set explicitly, it stays put
 * as ports come and go (otherwise the kernel copies the lowest port MAC, and neighbours' ARP
 * caches for the gateway go stale).
 */
export function bridgeMac(bridge: string): string {
  const a = fnv1a(bridge);
  const b = fnv1a(bridge, 0x9747b28c);
  const bytes = [0x02, (a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff, b & 0xff];
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * The label ctnet puts on a host veth (its ifalias): the network and attachment it belongs to.
 * GC finds the veths of attachments that are gone by it, even when an ADD died before reporting.
 */
export function attachmentAlias(network: string, containerId: string, ifname: string): string {
  return `ctnet:${network}:${containerId}:${ifname}`;
}

/** The attachment a host veth belongs to, or undefined for a veth ctnet's bridge did not make. */
export function parseAttachmentAlias(alias: string | undefined): { network: string; containerId: string; ifname: string } | undefined {
  const m = /^ctnet:([^:]+):([^:]+):([^:]+)$/.exec(alias ?? '');
  return m ? { network: m[1]!, containerId: m[2]!, ifname: m[3]! } : undefined;
}
