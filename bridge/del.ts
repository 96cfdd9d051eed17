// Bridge DEL, from recorded state: the IPAM store releases by container id, firewall rules are
// found by their tags, and the veth by the name derived from the attachment. It succeeds when the
// namespace or the interface is already gone, when called twice, and with an empty CNI_NETNS.
import { checkpoint } from '../cni/checkpoint.js';
import type { CmdArgs } from '../cni/skel.js';
import { settleAll } from '../cni/settle.js';
import { deleteLink, getLink, originalNetNs, withRtnl } from '../netlink/index.js';
import { openContainerNsForDel } from '../plugins/shared/container-ns.js';
import type { BridgeConf } from './config.js';
import { tearDownFirewall } from './firewall.js';
import { runIpam } from './ipam.js';
import { hostVethName } from './names.js';

export async function bridgeDel(args: CmdArgs, conf: BridgeConf): Promise<void> {
  // Addresses first: they must be released even if nothing else can be cleaned.
  if (conf.ipam) await runIpam('DEL', args, conf);
  checkpoint('del-after-ipam');
  // The rules (an iptables-restore child) and the veth (a netlink request the kernel takes a while
  // over) are independent: both at once, each attempted whatever becomes of the other. The veth
  // waits one turn of the event loop, so the child is started first and does its work while the
  // kernel holds this thread in the veth's deletion.
  const firewall = tearDownFirewall(args, conf).then(() => checkpoint('del-after-firewall'));
  const veth = new Promise(setImmediate).then(() => deleteVeth(args));
  await settleAll([firewall, veth]);
}

async function deleteVeth(args: CmdArgs): Promise<void> {
  const ns = openContainerNsForDel(args);
  if (ns) {
    try {
      await withRtnl(ns, async (rtnl) => {
        const link = await getLink(rtnl, args.ifname);
        // Only a veth is ours to delete (deleting one end removes the pair).
        if (link?.kind === 'veth') await deleteLink(rtnl, link.index, { ignoreMissing: true });
      });
    } finally {
      ns.close();
    }
  }
  // The host end by its derived name: covers a namespace the runtime no longer names.
  await withRtnl(originalNetNs(), async (rtnl) => {
    const hostVeth = await getLink(rtnl, hostVethName(args.containerId, args.ifname));
    if (hostVeth?.kind === 'veth') await deleteLink(rtnl, hostVeth.index, { ignoreMissing: true });
  });
}
