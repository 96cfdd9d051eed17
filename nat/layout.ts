// ctnet's chain layout, as pure functions from an attachment's spec to the rules it needs.
//
//   nat    PREROUTING, OUTPUT  -m addrtype --dst-type LOCAL -j CTNET-DNAT            (appended: after kube-proxy & co)
//          CTNET-DNAT          per attachment: -p tcp -m multiport --dports 8080,... -j CTNET-DN-<key>
//          CTNET-DN-<key>      per mapping: mark hairpin (-s subnet) and localhost (-s 127/8) sources, then DNAT
//          POSTROUTING         -j CTNET-POSTROUTING                                   (first: before others' ACCEPT/MASQUERADE)
//          CTNET-POSTROUTING   -m mark --mark <bit> -j MASQUERADE (shared); per address: -s ip ! -o br ! -d mcast -j MASQUERADE
//   filter FORWARD             -j CTNET-FORWARD                                       (first: ahead of a DROP policy's chains)
//          CTNET-FORWARD       -j CTNET-ISOLATION (first); per attachment: accepts for published ports, egress, return traffic
//          CTNET-ISOLATION     per attachment: drops of same-bridge (icc=false) or boundary-crossing (internal) traffic,
//                              and a jump to CTNET-ISOLATION-2 for traffic leaving an isolated network's bridge
//          CTNET-ISOLATION-2   per attachment: drop of traffic into an isolated network's container (Docker's stage 2)
//          INPUT -> CTNET-INPUT  drop of martian packets to 127/8 (route_localnet opens the bridge to them, CVE-2020-8558)
//
// Only DNAT gets a chain per attachment: its entry rule filters on the published ports, so a packet
// to an unpublished port passes one rule per attachment instead of all its mappings. Every owned
// rule carries the attachment's comment tag (names.ts).
import { CniError, ErrorCode } from '../cni/errors.js';
import { familyBits, formatAddr, networkOf, parseCidr, type Cidr, type Family } from '../ip/address.js';
import { validateConditions, validateInterfaceArg } from './conditions.js';
import { attachmentChain, attachmentKey, ownerOf, ruleTag } from './names.js';
import { claimOf, containerPortEnd, mappingsFor, normalizeMapping, reachesLocalhost, type PortClaim } from './port-mappings.js';
import { addUnique, chainItem, comment, FamilyBuilder, jumpItem, type FamilyPlan, type SharedItem } from './rule.js';
import type { AttachmentRef, ContainerSpec, FamilyMapping, ForwardMode, PortMapping, Protocol } from './types.js';

export const CHAIN = {
  dnat: 'CTNET-DNAT',
  postrouting: 'CTNET-POSTROUTING',
  forward: 'CTNET-FORWARD',
  isolation: 'CTNET-ISOLATION',
  isolation2: 'CTNET-ISOLATION-2',
  input: 'CTNET-INPUT',
} as const;
export const DNAT_CHAIN_PREFIX = 'CTNET-DN';
/** The reference portmap's default; Kubernetes uses 14 and 15, Calico 20-31. */
export const DEFAULT_MARK_BIT = 13;
/** multiport takes at most 15 ports, a range counting as two. */
const MULTIPORT_SLOTS = 15;
const CHAIN_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,27}$/;

/** What a backend installs for one attachment: its rule sets per family and its host port claims. */
export interface InstallPlan {
  ref: Required<AttachmentRef>;
  key: string;
  families: FamilyPlan[];
  claims: PortClaim[];
  /** UDP host port ranges whose stale conntrack entries ADD and DEL flush. */
  udp: Array<{ family: Family; hostPort: number; hostPortEnd: number }>;
}

export interface AttachmentPlan extends InstallPlan {
  /** An IPv4 mapping reaches 127.0.0.0/8: route_localnet must be on for the bridge. */
  localnet: boolean;
  /** Families whose rules filter traffic between ports of the bridge (icc=false): br_netfilter must see it. */
  bridged: Family[];
}

/** The settings every generator reads, validated once. */
interface Context {
  tag: string;
  key: string;
  bridge: string | undefined;
  forward: ForwardMode;
  snat: boolean;
  masqAll: boolean;
  /** The arguments that request masquerade: the mark, or a jump to an external chain. */
  markTarget: string[];
  /** The shared rule that masquerades marked packets (none with an external chain). */
  markMasq: SharedItem | undefined;
  conditions: Record<Family, string[]>;
}

function markValue(bit: number): string {
  const v = `0x${(2 ** bit).toString(16)}`;
  return `${v}/${v}`;
}

/** The shared rule that masquerades packets carrying the mark bit (hairpin and localhost connections). */
const markMasqItem = (bit: number): SharedItem => ({
  kind: 'rule',
  table: 'nat',
  chain: CHAIN.postrouting,
  position: 'first',
  args: ['-m', 'mark', '--mark', markValue(bit), ...comment('ctnet: hairpin and localhost connections to published ports'), '-j', 'MASQUERADE'],
});

const hostCidr = (c: Cidr) => `${formatAddr(c.addr)}/${familyBits(c.addr.family)}`;
const subnetOf = (c: Cidr) => `${formatAddr({ family: c.addr.family, value: networkOf(c) })}/${c.prefix}`;
const portSpec = (start: number, end: number) => (start === end ? `${start}` : `${start}:${end}`);

function badConfig(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function context(spec: ContainerSpec, key: string): Context {
  const nat = spec.nat ?? {};
  const forward = spec.forward ?? 'ports';
  if (!['none', 'ports', 'all'].includes(forward)) throw badConfig(`forward must be "none", "ports" or "all", not ${JSON.stringify(forward)}`);
  if (spec.bridge !== undefined) validateInterfaceArg(spec.bridge, 'bridge');
  if (nat.markMasqBit !== undefined && nat.externalSetMarkChain !== undefined) throw badConfig('externalSetMarkChain and markMasqBit cannot both be set');
  const bit = nat.markMasqBit ?? DEFAULT_MARK_BIT;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw badConfig(`markMasqBit must be an integer from 0 to 31, not ${JSON.stringify(nat.markMasqBit)}`);
  const external = nat.externalSetMarkChain;
  if (external !== undefined && !CHAIN_NAME.test(external)) throw badConfig(`externalSetMarkChain ${JSON.stringify(external)} is not an iptables chain name`);
  return {
    tag: ruleTag(spec),
    key,
    bridge: spec.bridge,
    forward,
    snat: nat.snat ?? true,
    masqAll: nat.masqAll ?? false,
    markTarget: external ? ['-j', external] : ['-j', 'MARK', '--set-xmark', markValue(bit)],
    markMasq: external ? undefined : markMasqItem(bit),
    conditions: {
      4: nat.conditionsV4 === undefined ? [] : validateConditions(nat.conditionsV4, 'conditionsV4'),
      6: nat.conditionsV6 === undefined ? [] : validateConditions(nat.conditionsV6, 'conditionsV6'),
    },
  };
}

function needBridge(ctx: Context, what: string): string {
  if (!ctx.bridge) throw badConfig(`${what} needs the host-side interface of the container (the bridge)`);
  return ctx.bridge;
}

const SHARED = {
  dnat: [
    chainItem('nat', CHAIN.dnat),
    jumpItem('nat', 'PREROUTING', CHAIN.dnat, 'last', ['-m', 'addrtype', '--dst-type', 'LOCAL'], 'ctnet: published ports'),
    jumpItem('nat', 'OUTPUT', CHAIN.dnat, 'last', ['-m', 'addrtype', '--dst-type', 'LOCAL'], 'ctnet: published ports'),
  ],
  postrouting: [chainItem('nat', CHAIN.postrouting), jumpItem('nat', 'POSTROUTING', CHAIN.postrouting, 'first', [], 'ctnet: masquerade')],
  forward: [chainItem('filter', CHAIN.forward), jumpItem('filter', 'FORWARD', CHAIN.forward, 'first', [], 'ctnet: container forwarding')],
  isolation: [chainItem('filter', CHAIN.isolation), jumpItem('filter', CHAIN.forward, CHAIN.isolation, 'first', [], 'ctnet: isolation before accepts')],
  isolation2: [chainItem('filter', CHAIN.isolation2)],
  localnetGuard: [
    chainItem('filter', CHAIN.input),
    jumpItem('filter', 'INPUT', CHAIN.input, 'first', [], 'ctnet: localhost guard'),
    {
      kind: 'rule',
      table: 'filter',
      chain: CHAIN.input,
      position: 'last',
      args: ['!', '-s', '127.0.0.0/8', '-d', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', ...comment('ctnet: no martian packets to 127/8 (route_localnet)'), '-j', 'DROP'],
    },
  ] satisfies SharedItem[],
} satisfies Record<string, SharedItem[]>;

/** `--to-destination` for a mapping: the port, the unchanged ports of an identical range, or a shifted range. */
function dnatDestination(addr: string, family: Family, m: FamilyMapping): string {
  if (m.hostPort !== m.hostPortEnd && m.hostPort === m.containerPort) return addr;
  const host = family === 6 ? `[${addr}]` : addr;
  if (m.hostPort === m.hostPortEnd) return `${host}:${m.containerPort}`;
  return `${host}:${m.containerPort}-${containerPortEnd(m)}/${m.hostPort}`;
}

/** The entry rules of the attachment's DNAT chain: one per protocol and run of at most 15 multiport slots. */
function entryRules(mappings: readonly FamilyMapping[]): Array<{ protocol: Protocol; ports: string }> {
  const out: Array<{ protocol: Protocol; ports: string }> = [];
  const protocols = [...new Set(mappings.map((m) => m.protocol))].sort();
  for (const protocol of protocols) {
    const specs = [...new Set(mappings.filter((m) => m.protocol === protocol).map((m) => portSpec(m.hostPort, m.hostPortEnd)))];
    let chunk: string[] = [];
    let slots = 0;
    for (const s of specs) {
      const need = s.includes(':') ? 2 : 1;
      if (slots + need > MULTIPORT_SLOTS) {
        out.push({ protocol, ports: chunk.join(',') });
        chunk = [];
        slots = 0;
      }
      chunk.push(s);
      slots += need;
    }
    if (chunk.length) out.push({ protocol, ports: chunk.join(',') });
  }
  return out;
}

function publishPorts(ctx: Context, b: FamilyBuilder, addr: Cidr, mappings: readonly FamilyMapping[]): void {
  const family = b.family;
  const chain = attachmentChain(DNAT_CHAIN_PREFIX, ctx.key);
  const ip = formatAddr(addr.addr);
  b.share(...SHARED.dnat);
  b.owned.chains.push({ table: 'nat', chain });
  for (const e of entryRules(mappings)) {
    b.rule('nat', CHAIN.dnat, ['-p', e.protocol, '-m', 'multiport', '--dports', e.ports, ...ctx.conditions[family]], ['-j', chain]);
  }
  if (ctx.snat && ctx.markMasq) b.share(...SHARED.postrouting, ctx.markMasq);
  for (const m of mappings) {
    const base = ['-p', m.protocol, ...(m.wildcard ? [] : ['-d', m.bindIP]), '--dport', portSpec(m.hostPort, m.hostPortEnd)];
    if (ctx.snat) {
      // Hairpin: a container of the subnet reaching a published port comes back through the bridge;
      // without masquerade the reply would go straight to it, bypassing the reverse translation.
      b.rule('nat', chain, [...base, ...(ctx.masqAll ? [] : ['-s', subnetOf(addr)])], ctx.markTarget);
      if (family === 4 && !ctx.masqAll && reachesLocalhost(m)) b.rule('nat', chain, [...base, '-s', '127.0.0.0/8'], ctx.markTarget);
    }
    b.rule('nat', chain, base, ['-j', 'DNAT', '--to-destination', dnatDestination(ip, family, m)]);
  }
  if (ctx.forward === 'none') return;
  b.share(...SHARED.forward);
  const dst = hostCidr(addr);
  for (const m of mappings) {
    const ports = portSpec(m.containerPort, containerPortEnd(m));
    // Only connections that came through a published port's DNAT: the container port itself stays closed.
    const ct = (dir: string) => ['-m', 'conntrack', '--ctstate', 'DNAT', '--ctdir', dir];
    b.rule('filter', CHAIN.forward, ['-d', dst, ...(ctx.bridge ? ['-o', ctx.bridge] : []), '-p', m.protocol, '--dport', ports, ...ct('ORIGINAL')], ['-j', 'ACCEPT']);
    if (ctx.forward === 'ports') {
      b.rule('filter', CHAIN.forward, ['-s', dst, ...(ctx.bridge ? ['-i', ctx.bridge] : []), '-p', m.protocol, '--sport', ports, ...ct('REPLY')], ['-j', 'ACCEPT']);
    }
  }
}

function masquerade(ctx: Context, b: FamilyBuilder, addrs: readonly Cidr[]): void {
  const bridge = needBridge(ctx, 'masquerade');
  b.share(...SHARED.postrouting);
  const multicast = b.family === 4 ? '224.0.0.0/4' : 'ff00::/8';
  // Leaving through another interface only: traffic to the container's own subnet stays on the bridge.
  for (const a of addrs) b.rule('nat', CHAIN.postrouting, ['-s', hostCidr(a), '!', '-o', bridge, '!', '-d', multicast], ['-j', 'MASQUERADE']);
}

function forwardAll(ctx: Context, b: FamilyBuilder, addrs: readonly Cidr[], internal: boolean): void {
  const bridge = needBridge(ctx, 'forward "all"');
  b.share(...SHARED.forward);
  for (const a of addrs) {
    const ip = hostCidr(a);
    b.rule('filter', CHAIN.forward, ['-d', ip, '-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'], ['-j', 'ACCEPT']);
    b.rule('filter', CHAIN.forward, ['-s', ip, '-i', bridge, ...(internal ? ['-o', bridge] : [])], ['-j', 'ACCEPT']);
  }
}

/**
 * Isolation between networks, Docker's two stages: traffic leaving this container's bridge for
 * another interface enters stage 2, which drops it if it is bound for a container of another
 * isolated network; traffic to the outside returns from stage 2 untouched. Each attachment adds
 * its own rule to both stages, so the set follows the containers without a per-network record.
 * Published ports stay reachable (their connections are DNAT'd), as on Docker with its proxy.
 */
function isolateNetworks(ctx: Context, b: FamilyBuilder, addrs: readonly Cidr[]): void {
  const bridge = needBridge(ctx, 'isolateNetworks');
  b.share(...SHARED.forward, ...SHARED.isolation, ...SHARED.isolation2);
  for (const a of addrs) {
    const ip = hostCidr(a);
    b.rule('filter', CHAIN.isolation, ['-s', ip, '-i', bridge, '!', '-o', bridge, '-m', 'conntrack', '!', '--ctstate', 'DNAT'], ['-j', CHAIN.isolation2]);
    b.rule('filter', CHAIN.isolation2, ['-d', ip, '-o', bridge], ['-j', 'DROP']);
  }
}

/**
 * Drops live in CTNET-ISOLATION, entered before any accept of CTNET-FORWARD, so they hold
 * whatever order attachments were added in. Same-bridge drops spare DNAT'd connections: a
 * published port stays reachable from the other containers, as with Docker's icc=false.
 */
function isolate(ctx: Context, b: FamilyBuilder, addrs: readonly Cidr[], icc: boolean, internal: boolean): void {
  const bridge = needBridge(ctx, internal ? 'internal' : 'icc=false');
  b.share(...SHARED.forward, ...SHARED.isolation);
  for (const a of addrs) {
    const ip = hostCidr(a);
    if (!icc) {
      const notPublished = ['-m', 'conntrack', '!', '--ctstate', 'DNAT'];
      b.rule('filter', CHAIN.isolation, ['-s', ip, '-i', bridge, '-o', bridge, ...notPublished], ['-j', 'DROP']);
      b.rule('filter', CHAIN.isolation, ['-d', ip, '-i', bridge, '-o', bridge, ...notPublished], ['-j', 'DROP']);
    }
    if (internal) {
      b.rule('filter', CHAIN.isolation, ['-s', ip, '-i', bridge, '!', '-o', bridge], ['-j', 'DROP']);
      b.rule('filter', CHAIN.isolation, ['-d', ip, '!', '-i', bridge, '-o', bridge], ['-j', 'DROP']);
    }
  }
}

export function parseAddresses(ips: readonly string[]): Cidr[] {
  return ips.map((text) => {
    const c = parseCidr(text);
    if (!c) throw badConfig(`container address ${JSON.stringify(text)} is not an address in CIDR notation (e.g. 10.88.0.2/24)`);
    return c;
  });
}

export function normalizeMappings(inputs: ContainerSpec['portMappings']): PortMapping[] {
  return (inputs ?? []).map((m, i) => normalizeMapping(m, `portMappings[${i}]`));
}

/** Everything an attachment needs, per family; validates the spec (CniError code 7). */
export function planAttachment(spec: ContainerSpec): AttachmentPlan {
  const key = attachmentKey(spec);
  const ref = { network: spec.network, containerId: spec.containerId, ifname: spec.ifname, owner: ownerOf(spec) };
  const ctx = context(spec, key);
  const addrs = parseAddresses(spec.ips);
  const mappings = normalizeMappings(spec.portMappings);
  const families: FamilyPlan[] = [];
  const claims: PortClaim[] = [];
  const udp: AttachmentPlan['udp'] = [];
  let localnet = false;
  for (const family of [4, 6] as const) {
    const mine = addrs.filter((a) => a.addr.family === family);
    if (mine.length === 0) continue;
    const b = new FamilyBuilder(family, ctx.tag);
    // A container is published on its first address of the family (DNAT has one destination).
    const fm = mappingsFor(family, mappings);
    if (fm.length > 0) {
      publishPorts(ctx, b, mine[0]!, fm);
      claims.push(...fm.map(claimOf));
      udp.push(...fm.filter((m) => m.protocol === 'udp').map((m) => ({ family, hostPort: m.hostPort, hostPortEnd: m.hostPortEnd })));
      if (fm.some(reachesLocalhost)) {
        localnet = true;
        if (ctx.bridge) b.share(...SHARED.localnetGuard);
      }
    }
    if (spec.masquerade) masquerade(ctx, b, mine);
    if (ctx.forward === 'all') forwardAll(ctx, b, mine, spec.internal ?? false);
    if (spec.icc === false || spec.internal) isolate(ctx, b, mine, spec.icc ?? true, spec.internal ?? false);
    if (spec.isolateNetworks) isolateNetworks(ctx, b, mine);
    if (b.owned.rules.length > 0) families.push(b.plan());
  }
  const bridged = spec.icc === false ? families.map((f) => f.family) : [];
  return { ref, key, families, claims, udp, localnet, bridged };
}

/** Every shared item the layout can use, for a network's up-front setup. */
export function sharedLayout(family: Family, opts: { markMasqBit?: number; localhostGuard?: boolean } = {}): SharedItem[] {
  const items: SharedItem[] = [];
  addUnique(items, ...SHARED.dnat, ...SHARED.postrouting, markMasqItem(opts.markMasqBit ?? DEFAULT_MARK_BIT), ...SHARED.forward, ...SHARED.isolation, ...SHARED.isolation2);
  if (family === 4 && (opts.localhostGuard ?? true)) addUnique(items, ...SHARED.localnetGuard);
  return items;
}
