// The reference firewall plugin's iptables layout (containernetworking/plugins, meta/firewall), so
// configs and admin habits carry over: per-container accepts in CNI-FORWARD, which FORWARD jumps to
// first and which jumps first to the admin chain (CNI-ADMIN, where an admin's own rules win), and
// for ingressPolicy "same-bridge" the two-stage isolation chains that drop traffic entering a
// bridge from anywhere but that bridge; "isolated" also drops traffic between the ports of the
// bridge (Docker's enable_icc=false), connections to published ports excepted. Shared chains, jumps and comments are the reference's
// own, so both plugins can share a host; ctnet's per-container rules additionally carry the
// attachment's tag, so DEL and GC remove exactly one container's rules.
import { familyBits, formatAddr } from '../ip/address.js';
import { validateInterfaceArg } from './conditions.js';
import { parseAddresses, type InstallPlan } from './layout.js';
import { attachmentKey, ownerOf, ruleTag } from './names.js';
import { chainItem, comment, FamilyBuilder, jumpItem, type FamilyPlan, type SharedItem } from './rule.js';
import type { AttachmentRef } from './types.js';

export const CNI_FORWARD_CHAIN = 'CNI-FORWARD';
export const DEFAULT_ADMIN_CHAIN = 'CNI-ADMIN';
const STAGE_1 = 'CNI-ISOLATION-STAGE-1';
const STAGE_2 = 'CNI-ISOLATION-STAGE-2';
const SAME_BRIDGE_COMMENT = 'CNI firewall plugin rules (ingressPolicy: same-bridge)';
const ISOLATED_COMMENT = 'CNI firewall plugin rules (ingressPolicy: isolated)';

export type IngressPolicy = 'open' | 'same-bridge' | 'isolated';
export const INGRESS_POLICIES: readonly IngressPolicy[] = ['open', 'same-bridge', 'isolated'];

export interface CniFirewallSpec extends AttachmentRef {
  /** The container's addresses (CIDR). */
  ips: string[];
  adminChain?: string;
  ingressPolicy?: IngressPolicy;
  /** The bridge, for same-bridge isolation. */
  bridge?: string;
}

function sharedItems(adminChain: string, policy: IngressPolicy, bridge: string | undefined): SharedItem[] {
  const items = [
    chainItem('filter', CNI_FORWARD_CHAIN),
    chainItem('filter', adminChain),
    jumpItem('filter', 'FORWARD', CNI_FORWARD_CHAIN, 'first', [], 'CNI firewall plugin rules'),
    jumpItem('filter', CNI_FORWARD_CHAIN, adminChain, 'first', [], 'CNI firewall plugin admin overrides'),
  ];
  if (policy !== 'open' && bridge) {
    // Inserted after CNI-FORWARD's jump at the top of FORWARD, so it ends up ahead of it.
    items.push(
      chainItem('filter', STAGE_1),
      chainItem('filter', STAGE_2),
      jumpItem('filter', 'FORWARD', STAGE_1, 'first', [], SAME_BRIDGE_COMMENT),
      jumpItem('filter', STAGE_1, STAGE_2, 'first', ['-i', bridge, '!', '-o', bridge], SAME_BRIDGE_COMMENT),
      { kind: 'rule', table: 'filter', chain: STAGE_1, position: 'last', args: [...comment(SAME_BRIDGE_COMMENT), '-j', 'RETURN'] },
      { kind: 'rule', table: 'filter', chain: STAGE_2, position: 'first', args: ['-o', bridge, ...comment(SAME_BRIDGE_COMMENT), '-j', 'DROP'] },
      { kind: 'rule', table: 'filter', chain: STAGE_2, position: 'last', args: [...comment(SAME_BRIDGE_COMMENT), '-j', 'RETURN'] },
    );
  }
  if (policy === 'isolated' && bridge) {
    const notPublished = ['-m', 'conntrack', '!', '--ctstate', 'DNAT'];
    items.push({ kind: 'rule', table: 'filter', chain: STAGE_1, position: 'first', args: ['-i', bridge, '-o', bridge, ...notPublished, ...comment(ISOLATED_COMMENT), '-j', 'DROP'] });
  }
  return items;
}

/** The plan of one attachment (owner "firewall" unless given). */
export function planCniFirewall(spec: CniFirewallSpec): InstallPlan {
  const ref = { network: spec.network, containerId: spec.containerId, ifname: spec.ifname, owner: spec.owner ?? 'firewall' };
  const owner = ownerOf(ref);
  const key = attachmentKey(ref);
  const tag = ruleTag(ref);
  const bridge = spec.bridge === undefined ? undefined : validateInterfaceArg(spec.bridge, 'bridge');
  const shared = sharedItems(spec.adminChain ?? DEFAULT_ADMIN_CHAIN, spec.ingressPolicy ?? 'open', bridge);
  const addrs = parseAddresses(spec.ips);
  const families: FamilyPlan[] = [];
  for (const family of [4, 6] as const) {
    const mine = addrs.filter((a) => a.addr.family === family);
    if (mine.length === 0) continue;
    const b = new FamilyBuilder(family, tag);
    b.share(...shared);
    for (const a of mine) {
      const ip = `${formatAddr(a.addr)}/${familyBits(family)}`;
      b.rule('filter', CNI_FORWARD_CHAIN, ['-d', ip, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'], ['-j', 'ACCEPT']);
      b.rule('filter', CNI_FORWARD_CHAIN, ['-s', ip], ['-j', 'ACCEPT']);
    }
    families.push(b.plan());
  }
  return { ref: { ...ref, owner }, key, families, claims: [], udp: [] };
}
