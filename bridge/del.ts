// Bridge DEL, from recorded state: the IPAM store releases by container id, firewall rules are
// found by their tags, and the veth by the name derived from the attachment. It succeeds when the
// namespace or the interface is already gone, when called twice, and with an empty CNI_NETNS.
import { checkpoint } from '../cni/checkpoint.js';
import type { CmdArgs } from '../cni/skel.js';
import { settleAll } from '../cni/settle.js';
import { deleteLink, getLink, originalNetNs, withRtnl, type Rtnl } from '../netlink/index.js';
import { openContainerNsForDel } from '../plugins/shared/container-ns.js';
import type { BridgeConf } from './config.js';
import { tearDownFirewall } from './firewall.js';
import { runIpam } from './ipam.js';
import { hostVethName } from './names.js';

export async function bridgeDel(args: CmdArgs, conf: BridgeConf): Promise<void> {
  // Three independent clean-ups, all at once, each attempted whatever becomes of the others: the veth
  // (looked up and deleted from pool threads, gone ~1 ms after its deletion is sent: the kernel's RCU
  // wait after that is left to a clone, netlink/rtnl.ts's deleteLink), the addresses, which must be
  // released even if nothing else can be cleaned, and the rules. The veth goes first, and the other
  // two start once its deletion is under way (or there is none), one turn of the event loop later,
  // when the deletion's request has reached its pool thread: their work (the IPAM store's is
  // synchronous) then does not hold up the lookup's answer (~4 ms).
  let underway!: () => void;
  const started = new Promise<void>((resolve) => (underway = resolve));
  const veth = deleteVeth(args, underway).finally(underway);
  const turn = started.then(() => new Promise(setImmediate));
  const firewall = turn.then(() => tearDownFirewall(args, conf)).then(() => checkpoint('del-after-firewall'));
  const addresses = conf.ipam ? turn.then(() => runIpam('DEL', args, conf)).then(() => checkpoint('del-after-ipam')) : Promise.resolve();
  await settleAll([veth, addresses, firewall]);
}

/** Deletes the attachment's veth pair, if any, calling `underway` once a deletion is sent. */
async function deleteVeth(args: CmdArgs, underway: () => void): Promise<void> {
  // Every request through the addon, which spares a DEL loading npm netlink: the lookup from this
  // thread (nothing runs beside it yet), the deletion's wait in a clone (deleteLink).
  const addon = { thread: 'caller' } as const;
  const deleteVethOf = async (rtnl: Rtnl, name: string): Promise<boolean> => {
    const link = await getLink(rtnl, name);
    if (link?.kind !== 'veth') return false;
    const deletion = deleteLink(rtnl, link.index, { ignoreMissing: true });
    underway();
    return deletion;
  };
  const ns = openContainerNsForDel(args);
  if (ns) {
    try {
      // Only a veth is ours to delete; deleting one end removes the pair, host end included.
      if (await withRtnl(ns, (rtnl) => deleteVethOf(rtnl, args.ifname), addon)) return;
    } finally {
      ns.close();
    }
  }
  // The host end by its derived name: covers a namespace the runtime no longer names, or one whose
  // interface is already gone.
  await withRtnl(originalNetNs(), (rtnl) => deleteVethOf(rtnl, hostVethName(args.containerId, args.ifname)), addon);
}
