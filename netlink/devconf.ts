// IP settings (the net.ipv4.conf.* and forwarding sysctls) read over rtnetlink instead of /proc/sys.
// Every namespace that has looked under /proc/sys/net leaves a dentry named "net" in one dcache hash
// chain, and each /proc/sys/net/... open walks that chain: on a host with 1,000 container
// namespaces an open costs ~0.5 ms, where a netlink request stays at microseconds. Writes still go
// through /proc/sys (sysctl.ts): they are rare (a value is read first) and the proc handlers do
// more than store the value (ip_forward reconfigures every device).
import { getLinkMessage, type LinkRef } from './links.js';
import type { Rtnl } from './rtnl.js';
import { AF_INET, AF_INET6, IFINFOMSG_LEN, IFLA_AF_SPEC, decodeAttrs, encodeAttrs, readS32, u32 } from './wire.js';

const RTM_GETNETCONF = 82;
const NETCONFA_IFINDEX = 1;
const NETCONFA_FORWARDING = 2;
/** The "all" pseudo-device: net.ipv4.conf.all (= net.ipv4.ip_forward) and net.ipv6.conf.all. */
const NETCONFA_IFINDEX_ALL = -1;
const IFLA_INET_CONF = 1;

/** linux/ip.h IPV4_DEVCONF_*: the 1-based slot of each setting in IFLA_INET_CONF's u32 array. */
const IPV4_DEVCONF = { forwarding: 1, route_localnet: 26 } as const;
export type Ipv4DevConfKey = keyof typeof IPV4_DEVCONF;

/** net.ipv4.ip_forward (family 4) or net.ipv6.conf.all.forwarding (6), in rtnl's namespace. */
export async function forwardingOn(rtnl: Rtnl, family: 4 | 6): Promise<boolean> {
  // struct netconfmsg is one byte, padded to four before the attributes.
  const header = Buffer.from([family === 4 ? AF_INET : AF_INET6, 0, 0, 0]);
  const [reply] = await rtnl.request(`read IPv${family} forwarding`, RTM_GETNETCONF, [header, encodeAttrs([[NETCONFA_IFINDEX, u32(NETCONFA_IFINDEX_ALL >>> 0)]])]);
  const value = reply && decodeAttrs(reply.data.subarray(4)).get(NETCONFA_FORWARDING);
  if (!value) throw new Error(`read IPv${family} forwarding: the kernel's answer has no NETCONFA_FORWARDING`);
  return readS32(value) !== 0;
}

/**
 * net.ipv4.conf.<link>.<key>, from the link's IFLA_AF_SPEC; undefined when there is no such link or
 * it has no IPv4 configuration.
 */
export async function ipv4DevConf(rtnl: Rtnl, ref: LinkRef, key: Ipv4DevConfKey): Promise<number | undefined> {
  const msg = await getLinkMessage(rtnl, ref);
  if (!msg) return undefined;
  const spec = decodeAttrs(msg.subarray(IFINFOMSG_LEN)).get(IFLA_AF_SPEC);
  const conf = spec && decodeAttrs(decodeAttrs(spec).get(AF_INET) ?? Buffer.alloc(0)).get(IFLA_INET_CONF);
  const offset = (IPV4_DEVCONF[key] - 1) * 4;
  // A device without IPv4 configuration (none yet, or disabled) has no AF_INET entry.
  if (!conf || conf.length < offset + 4) return undefined;
  return readS32(conf, offset);
}
