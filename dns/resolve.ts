// What the responder says to one question, given the networks the asking container may see:
// answer from the container records, say the name does not exist, or leave it to the upstreams.
// Pure, so every rule here is unit-tested without sockets.
import type { Answer, Question } from 'dns-packet';
import { type Cidr, familyBits, parseAddr } from '../ip/address.js';
import { type NetworkRecords, normalizeName } from './records.js';
import { RCODE } from './message.js';
import { addressOfReverseName, isReverseName } from './reverse.js';

/** One network as a query sees it. */
export interface NetworkView {
  name: string;
  /** A search domain the network's names also answer under (normalized), e.g. "dns.ctnet": web.dns.ctnet is web. */
  domain?: string;
  /** The network's subnets: reverse lookups inside them are answered here and never forwarded. */
  subnets?: readonly Cidr[];
  records: NetworkRecords;
}

export type Resolution =
  | { kind: 'local'; rcode: typeof RCODE.NOERROR | typeof RCODE.NXDOMAIN; answers: Answer[] }
  | { kind: 'forward' };

export interface ResolveOptions {
  ttl: number;
  /** Orders the addresses of a name (Docker rotates them for round-robin over an alias); identity by default. */
  order?: <T>(items: T[]) => T[];
}

const FORWARD: Resolution = { kind: 'forward' };
const nxdomain = (): Resolution => ({ kind: 'local', rcode: RCODE.NXDOMAIN, answers: [] });

/** True when the address lies inside the subnet. */
export function inSubnet(address: string, c: Cidr): boolean {
  const a = parseAddr(address);
  if (!a || a.family !== c.addr.family) return false;
  const hostBits = BigInt(familyBits(a.family) - c.prefix);
  return a.value >> hostBits === c.addr.value >> hostBits;
}

/** The name without the network's domain, when it is under it. */
function withinDomain(name: string, net: NetworkView): string | undefined {
  if (!net.domain) return undefined;
  if (name === net.domain) return '';
  return name.endsWith(`.${net.domain}`) ? name.slice(0, -net.domain.length - 1) : undefined;
}

function resolveReverse(question: Question, name: string, scope: readonly NetworkView[], opts: ResolveOptions): Resolution {
  const address = addressOfReverseName(name);
  if (!address) return FORWARD;
  for (const net of scope) {
    const owner = net.records.at(address);
    if (!owner) continue;
    const target = net.domain ? `${owner.name}.${net.domain}` : owner.name;
    const answers: Answer[] = question.type === 'PTR' ? [{ type: 'PTR', name: question.name, ttl: opts.ttl, class: 'IN', data: target }] : [];
    return { kind: 'local', rcode: RCODE.NOERROR, answers };
  }
  // An address of one of our subnets that no container holds: nobody upstream knows it either.
  return scope.some((net) => net.subnets?.some((c) => inSubnet(address, c))) ? nxdomain() : FORWARD;
}

/**
 * Resolves a question for a container that sees the networks in `scope`:
 * - names, aliases and short ids of their containers (any case, with or without a trailing dot or
 *   the network's domain) get their A/AAAA records; other types get an empty NOERROR;
 * - reverse names of their addresses get a PTR to the container's name;
 * - a single-label name, or one under a network's domain, that is not found is NXDOMAIN without
 *   asking the upstreams (as Docker does: "db" is a container name, not something for the internet);
 * - everything else, and every class but IN, is forwarded.
 */
export function resolveQuestion(question: Question, scope: readonly NetworkView[], opts: ResolveOptions): Resolution {
  if ((question.class ?? 'IN') !== 'IN') return FORWARD;
  const name = normalizeName(question.name);
  if (name === '' || name === '.') return FORWARD;
  if (isReverseName(name)) return resolveReverse(question, name, scope, opts);

  let underDomain = false;
  // The domain itself exists (it has names under it): NXDOMAIN there would deny them all (RFC 8020).
  if (scope.some((net) => withinDomain(name, net) === '')) return { kind: 'local', rcode: RCODE.NOERROR, answers: [] };
  const found = new Map<string, { ipv4: string[]; ipv6: string[] }>();
  for (const net of scope) {
    const relative = withinDomain(name, net);
    underDomain ||= relative !== undefined;
    for (const key of relative ? [name, relative] : [name]) {
      for (const c of net.records.find(key)) found.set(c.id, c);
    }
  }
  if (found.size === 0) return !name.includes('.') || underDomain ? nxdomain() : FORWARD;

  // dns-packet's types omit ANY (255), which it decodes as 'ANY'.
  const wanted = (type: 'A' | 'AAAA') => question.type === type || (question.type as string) === 'ANY';
  const answers: Answer[] = [];
  for (const [type, key] of [['A', 'ipv4'], ['AAAA', 'ipv6']] as const) {
    if (!wanted(type)) continue;
    const addresses = [...new Set([...found.values()].flatMap((c) => c[key]))];
    for (const data of opts.order ? opts.order(addresses) : addresses) answers.push({ type, name: question.name, ttl: opts.ttl, class: 'IN', data });
  }
  return { kind: 'local', rcode: RCODE.NOERROR, answers };
}
