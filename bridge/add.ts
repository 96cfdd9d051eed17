// Bridge ADD, the story of one attachment: addresses from IPAM, the bridge, a veth pair whose
// container end is created directly in the container under CNI_IFNAME, addresses and routes
// inside, the gateway on the bridge, forwarding and firewall rules. Every change registers its
// undo first, so any failure leaves nothing behind.
import { checkpoint } from '../cni/checkpoint.js';
import { settleAll } from '../cni/settle.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import { Rollback } from '../cni/rollback.js';
import type { CmdArgs } from '../cni/skel.js';
import type { IPConfig, Result, Route } from '../cni/types.js';
import {
  createVeth,
  deleteLink,
  isNetlinkError,
  originalNetNs,
  requireLink,
  Rtnl,
  setBridgePort,
  setLink,
  waitForLinkUp,
  type NetNs,
} from '../netlink/index.js';
import { openContainerNs } from '../plugins/shared/container-ns.js';
import type { BridgeConf } from './config.js';
import { configureContainer } from './container-side.js';
import { setUpFirewall, tearDownFirewall } from './firewall.js';
import { enableForwarding, ensureGatewayAddress, setUpBridge } from './host-side.js';
import { ipamAllocate, runIpam } from './ipam.js';
import { attachmentAlias, hostVethName } from './names.js';

const CONTAINER_IF = 2; // index of the container interface in the result

export async function bridgeAdd(args: CmdArgs, conf: BridgeConf): Promise<Result> {
  if (conf.hairpinMode && conf.promiscMode) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'bridge: "hairpinMode" and "promiscMode" cannot both be set');
  }
  if (conf.disableContainerInterface && conf.ipam) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'bridge: "disableContainerInterface" leaves the interface down, so it cannot be combined with "ipam"');
  }
  const ns = openContainerNs(args);
  // Every request through the addon's sockets, as DEL's (loading npm netlink's socket layer would
  // cost the process ~4 ms), and from this thread: the ADD's ~15 requests come one after the other,
  // so a pool thread's round trip would only add to each.
  const host = Rtnl.open(originalNetNs(), { thread: 'caller' });
  const inside = Rtnl.open(ns, { thread: 'caller' });
  const rollback = new Rollback();
  try {
    return await attach(args, conf, ns, host, inside, rollback);
  } catch (err) {
    await rollback.run();
    throw err;
  } finally {
    host.close();
    inside.close();
    ns.close();
  }
}

async function attach(args: CmdArgs, conf: BridgeConf, ns: NetNs, host: Rtnl, inside: Rtnl, rollback: Rollback): Promise<Result> {
  // IPAM first: a duplicate ADD of a live attachment fails here, before anything is touched.
  const ipam = conf.ipam ? await ipamAllocate(args, conf) : undefined;
  if (ipam) rollback.add(`the IPAM reservation of ${args.containerId}`, () => runIpam('DEL', args, conf));
  checkpoint('after-ipam');

  const bridge = await setUpBridge(host, conf);
  const hostVeth = hostVethName(args.containerId, args.ifname);
  await createPair(host, ns, hostVeth, args.ifname, conf);
  rollback.add(`veth ${hostVeth}`, () => deleteLink(host, hostVeth, { ignoreMissing: true }));
  await joinBridge(host, hostVeth, { master: bridge.index, alias: attachmentAlias(conf.name, args.containerId, args.ifname) });
  if (conf.hairpinMode || conf.portIsolation) {
    await setBridgePort(host, hostVeth, { ...(conf.hairpinMode ? { hairpin: true } : {}), ...(conf.portIsolation ? { isolated: true } : {}) });
  }
  checkpoint('after-veth');

  const ips: IPConfig[] = (ipam?.ips ?? []).map((ip) => ({ ...ip, interface: CONTAINER_IF }));
  const routes = containerRoutes(ipam?.routes ?? [], ips, conf);
  if (ips.length > 0) {
    await configureContainer(inside, ns, { ifname: args.ifname, ips, routes, enableDad: conf.enabledad });
  } else if (!conf.disableContainerInterface) {
    await setLink(inside, args.ifname, { up: true });
  }
  checkpoint('after-container');

  const families = new Set(ips.map((ip) => (ip.address.includes(':') ? 6 : 4) as 4 | 6));
  if (conf.isGateway) {
    for (const ip of ips) {
      if (!ip.gateway) continue;
      await ensureGatewayAddress(host, bridge, `${ip.gateway}/${ip.address.split('/')[1]}`, conf.forceAddress);
    }
    await enableForwarding(host, families);
  }
  rollback.add(`the firewall rules of ${args.containerId}`, () => tearDownFirewall(args, conf));
  // The rules go in while both ends come up: a usable attachment is what ADD reports. A veth end
  // forwards only once the kernel has reported it up, which is also when it activates its queue
  // (until then every frame it is given is dropped), and that report waits for the RTNL lock: on a
  // busy host (namespaces being torn down) it can lag by seconds. A container end left down on
  // purpose leaves its peer down too.
  const up = (rtnl: Rtnl, name: string) => (conf.disableContainerInterface ? requireLink(rtnl, name) : waitForLinkUp(rtnl, name));
  const [, hostLink, containerLink] = await settleAll([setUpFirewall(args, conf, ips).then(() => checkpoint('after-firewall')), up(host, hostVeth), up(inside, args.ifname)] as const);
  const bridgeNow = await requireLink(host, bridge.index);
  return {
    cniVersion: '1.1.0',
    interfaces: [
      { name: bridgeNow.name, ...(bridgeNow.mac ? { mac: bridgeNow.mac } : {}) },
      { name: hostLink.name, ...(hostLink.mac ? { mac: hostLink.mac } : {}) },
      { name: containerLink.name, ...(containerLink.mac ? { mac: containerLink.mac } : {}), sandbox: args.netns },
    ],
    ips,
    routes,
    dns: hasDns(conf.dns) ? conf.dns! : (ipam?.dns ?? {}),
  };
}

/**
 * The veth pair, host end named from the attachment. A leftover pair of the same attachment (an
 * ADD killed half-way and never DEL'd) is replaced; IPAM already refused a live duplicate.
 */
async function createPair(host: Rtnl, ns: NetNs, hostVeth: string, ifname: string, conf: BridgeConf): Promise<void> {
  const make = () =>
    createVeth(host, {
      name: hostVeth,
      up: true,
      ...(conf.mtu ? { mtu: conf.mtu } : {}),
      peer: { name: ifname, ns, ...(conf.mtu ? { mtu: conf.mtu } : {}), ...(conf.mac ? { mac: conf.mac } : {}) },
    });
  try {
    await make();
  } catch (err) {
    if (!isNetlinkError(err, 'EEXIST')) throw err;
    const stale = await requireLink(host, hostVeth).catch(() => null);
    if (stale?.kind !== 'veth') {
      throw new CniError(ErrorCode.InvalidEnvironment, `cannot create ${ifname} in ${ns.path}: an interface of that name already exists in the container`);
    }
    await deleteLink(host, hostVeth, { ignoreMissing: true });
    await make();
  }
}

/**
 * The host end joins the bridge, labelled with its attachment, and without IPv6 addresses of its own:
 * a bridge port needs none (the bridge has the gateway's), and a link-local address per attachment
 * would grow the host's IPv6 routes with every container, and the kernel's work with DAD and MLD
 * for each. It is set before the peer comes up, which is when the address would be made.
 */
async function joinBridge(host: Rtnl, hostVeth: string, port: { master: number; alias: string }): Promise<void> {
  try {
    await setLink(host, hostVeth, { ...port, addrGenMode: 'none' });
  } catch (err) {
    // A kernel without IPv6 (ipv6.disable=1) refuses the setting, and has no addresses to spare.
    if (!isNetlinkError(err, 'EAFNOSUPPORT')) throw err;
    await setLink(host, hostVeth, port);
  }
}

/** IPAM's routes, plus a default route per family through its gateway when asked (not on internal networks). */
function containerRoutes(fromIpam: Route[], ips: IPConfig[], conf: BridgeConf): Route[] {
  const routes = [...fromIpam];
  if (!conf.isDefaultGateway || conf.internal) return conf.internal ? routes.filter((r) => !r.dst.endsWith('/0')) : routes;
  for (const ip of ips) {
    if (!ip.gateway) continue;
    const dst = ip.address.includes(':') ? '::/0' : '0.0.0.0/0';
    if (!routes.some((r) => r.dst === dst)) routes.push({ dst, gw: ip.gateway });
  }
  return routes;
}

function hasDns(dns: BridgeConf['dns']): boolean {
  return !!dns && Object.values(dns).some((v) => (Array.isArray(v) ? v.length > 0 : !!v));
}
