// The host side of a bridge attachment: the bridge itself, its gateway addresses, forwarding.
// Many plugin processes run this at once for the first containers on a new bridge, so every step
// tolerates having been done by someone else a moment earlier.
import { CniError, ErrorCode } from '../cni/errors.js';
import {
  addAddress,
  deleteAddress,
  ensureBridge,
  formatIp,
  forwardingOn,
  isNetlinkError,
  listAddresses,
  networkOf,
  parseCidr,
  setLink,
  writeSysctl,
  type Link,
  type Rtnl,
} from '../netlink/index.js';
import type { BridgeConf } from './config.js';
import { bridgeMac } from './names.js';

export async function setUpBridge(rtnl: Rtnl, conf: BridgeConf): Promise<Link> {
  const br = await ensureBridge(rtnl, { name: conf.bridge, mac: bridgeMac(conf.bridge), up: true, ...(conf.mtu ? { mtu: conf.mtu } : {}) });
  if (conf.promiscMode && !br.promisc) await setLink(rtnl, br.index, { promisc: true });
  return br;
}

/**
 * Puts `gatewayCidr` (the gateway address with its subnet's prefix) on the bridge. Another
 * address of the same family in an overlapping subnet is an error, unless forceAddress asks to
 * replace it (the reference plugin's rule); addresses of unrelated subnets stay.
 */
export async function ensureGatewayAddress(rtnl: Rtnl, bridge: Link, gatewayCidr: string, forceAddress: boolean): Promise<void> {
  const want = parseCidr(gatewayCidr);
  const wantIp = formatIp(want.bytes);
  for (const a of await listAddresses(rtnl, { link: bridge.index, family: want.family })) {
    if (a.address === wantIp) return;
    if (a.scope >= 253) continue; // link-local and host scope never conflict
    if (!overlaps(a.cidr, gatewayCidr)) continue;
    if (!forceAddress) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `bridge ${bridge.name} already has address ${a.cidr}, which differs from the gateway ${gatewayCidr}; set "forceAddress": true to replace it, or use another bridge name`,
      );
    }
    await deleteAddress(rtnl, bridge.index, a.cidr, { ignoreMissing: true });
  }
  if (want.family === 6) writeSysctl(`net/ipv6/conf/${bridge.name}/disable_ipv6`, '0');
  try {
    await addAddress(rtnl, bridge.index, gatewayCidr, { nodad: true });
  } catch (err) {
    // A concurrent ADD added it between our look and our write.
    if (!isNetlinkError(err, 'EEXIST')) throw err;
  }
}

/** Two prefixes overlap when they agree on the shorter one's network bits. */
function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (x.family !== y.family) return false;
  const prefix = Math.min(x.prefix, y.prefix);
  return networkOf({ ...x, prefix }).equals(networkOf({ ...y, prefix }));
}

/**
 * IP forwarding for the families the bridge routes, in rtnl's namespace, which must be the one this
 * thread is in. Read over netlink (devconf.ts says why); written only when off, as a write is costly.
 */
export async function enableForwarding(rtnl: Rtnl, families: ReadonlySet<4 | 6>): Promise<void> {
  for (const family of families) {
    if (!(await forwardingOn(rtnl, family))) writeSysctl(family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding', '1');
  }
}
