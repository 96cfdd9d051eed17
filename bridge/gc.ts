// Bridge GC: release what belongs to attachments the runtime no longer knows. Addresses go through
// IPAM, firewall rules by their tags, and host veths by the attachment recorded in their ifalias,
// which also catches the veth of an ADD killed before it could report a result.
import { validAttachments } from '../cni/gc.js';
import type { CmdArgs } from '../cni/skel.js';
import { deleteLink, listLinks, originalNetNs, withRtnl } from '../netlink/index.js';
import type { BridgeConf } from './config.js';
import { collectFirewall } from './firewall.js';
import { runIpam } from './ipam.js';
import { parseAttachmentAlias } from './names.js';

export async function bridgeGc(args: CmdArgs, conf: BridgeConf): Promise<void> {
  const valid = validAttachments(conf);
  if (conf.ipam) await runIpam('GC', args, conf);
  // Without a list the runtime said nothing about what is in use: touch nothing.
  if (!valid) return;
  const keep = new Set(valid.map((a) => `${a.containerID}/${a.ifname}`));
  await withRtnl(originalNetNs(), async (rtnl) => {
    for (const link of await listLinks(rtnl)) {
      const owner = parseAttachmentAlias(link.alias);
      if (link.kind !== 'veth' || owner?.network !== conf.name) continue;
      if (!keep.has(`${owner.containerId}/${owner.ifname}`)) await deleteLink(rtnl, link.index, { ignoreMissing: true });
    }
  });
  await collectFirewall(conf, valid);
}
