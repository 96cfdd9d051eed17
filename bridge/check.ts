// Bridge CHECK: the attachment still matches its prevResult: IPAM holds the addresses, the bridge
// and the host veth exist and are joined, the container interface is the veth's peer with the
// recorded MAC, its addresses and routes are in place, and so are its firewall rules.
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs } from '../cni/skel.js';
import { formatIp, getLink, listAddresses, listRoutes, MAIN_TABLE, originalNetNs, parseCidr, withRtnl } from '../netlink/index.js';
import { openContainerNs } from '../plugins/shared/container-ns.js';
import type { BridgeConf } from './config.js';
import { checkFirewall } from './firewall.js';
import { runIpam } from './ipam.js';
import { hostVethName } from './names.js';

const fail = (msg: string) => new CniError(ErrorCode.CheckFailed, msg);

export async function bridgeCheck(args: CmdArgs, conf: BridgeConf): Promise<void> {
  const prev = conf.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'bridge CHECK needs the prevResult of the ADD');
  if (conf.ipam) await runIpam('CHECK', args, conf);

  const hostVeth = hostVethName(args.containerId, args.ifname);
  const vethIndex = await withRtnl(originalNetNs(), async (rtnl) => {
    const br = await getLink(rtnl, conf.bridge);
    if (br?.kind !== 'bridge') throw fail(`bridge ${conf.bridge} is missing`);
    const veth = await getLink(rtnl, hostVeth);
    if (veth?.kind !== 'veth') throw fail(`host interface ${hostVeth} of ${args.containerId} is missing`);
    if (veth.master !== br.index) throw fail(`host interface ${hostVeth} is not attached to bridge ${conf.bridge}`);
    return veth.index;
  });

  const ns = openContainerNs(args);
  try {
    await withRtnl(ns, async (rtnl) => {
      const link = await getLink(rtnl, args.ifname);
      if (!link) throw fail(`interface ${args.ifname} is missing in ${args.netns}`);
      if (link.kind !== 'veth' || link.parentIndex !== vethIndex) throw fail(`${args.ifname} in ${args.netns} is not the peer of ${hostVeth}`);
      const recorded = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox);
      if (recorded?.mac && link.mac !== recorded.mac) throw fail(`${args.ifname} has MAC ${link.mac}, prevResult recorded ${recorded.mac}`);
      const present = new Set((await listAddresses(rtnl, { link: link.index })).map((a) => a.cidr));
      for (const ip of prev.ips ?? []) {
        const canonical = `${formatIp(parseCidr(ip.address).bytes)}/${ip.address.split('/')[1]}`;
        if (!present.has(canonical)) throw fail(`${args.ifname} in ${args.netns} lacks address ${ip.address}`);
      }
      const routes = await listRoutes(rtnl, { table: MAIN_TABLE });
      for (const r of prev.routes ?? []) {
        const found = routes.some((k) => k.dev === link.index && k.dst === r.dst && (!r.gw || k.gateway === r.gw));
        if (!found) throw fail(`route to ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in ${args.netns}`);
      }
    });
  } finally {
    ns.close();
  }
  await checkFirewall(args, conf, prev.ips ?? []);
}
