// The responder: one listener per network address, container records per network, and the rule
// deciding which networks a query may see. Usable in-process (the engine, tests) or behind the
// daemon that feeds it from the state files.
//
// Which networks a query sees: the asking container's. When the source address belongs to a
// container (first looked for on the network whose listener was asked), the query sees every
// network that container is attached to, as in Docker, whichever gateway it asked; so asking
// another network's gateway teaches it nothing. A source the records do not know (a container
// not yet recorded, the host itself) sees the listener's network, unless that network declares
// its subnets and the source is outside them: then the query is REFUSED.
import { randomInt } from 'node:crypto';
import { type Cidr, parseAddr, parseCidr } from '../ip/address.js';
import { DEFAULT_FORWARDER_LIMITS, Forwarder, type ForwarderLimits } from './forwarder.js';
import { type IncomingQuery, Listener, TcpConnections, type TcpLimits } from './listener.js';
import { RCODE, TCP_MAX_SIZE, decodeQuery, encodeResponse, errorResponse, isStandardQuery, responseTo, truncatedResponse, udpSizeLimit } from './message.js';
import { type ContainerRecord, type ContainerRecordInput, NetworkRecords, canonicalAddress, normalizeName, validateRecords } from './records.js';
import { type NetworkView, inSubnet, resolveQuestion } from './resolve.js';
import { DNS_PORT, type Server } from './upstreams.js';

/** Docker's network-name alphabet (the name also becomes a records file name). */
export const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A network the responder serves. */
export interface NetworkConfig {
  /** The network's name (the key of its records). */
  name: string;
  /** Addresses to listen on: the network's gateway addresses. */
  listen: string[];
  /** Port to listen on; the responder's port by default (53). */
  port?: number;
  /** Optional DNS domain: web.DOMAIN resolves like web, and PTRs answer web.DOMAIN. */
  domain?: string;
  /** The network's subnets (CIDR): they bound who may ask, and reverse names inside them are never forwarded. */
  subnets?: string[];
}

export interface ResponderLimits extends ForwarderLimits, TcpLimits {
  /** Queries larger than this are dropped; DNS queries are small, so 4 KiB leaves room for EDNS options. */
  maxQueryBytes: number;
}

export const DEFAULT_LIMITS: ResponderLimits = {
  ...DEFAULT_FORWARDER_LIMITS,
  maxConnections: 64,
  idleTimeoutMs: 10_000,
  maxInFlightPerConnection: 16,
  maxQueryBytes: 4096,
};

/** Podman's aardvark-dns answers with 60 s (Docker 600 s): short, so a recreated container's new address is picked up soon. */
export const DEFAULT_TTL = 60;

export interface ResponderOptions {
  port?: number;
  ttl?: number;
  upstreams?: Server[];
  limits?: Partial<ResponderLimits>;
  log?: (message: string) => void;
}

export interface ListenerStatus {
  network: string;
  address: string;
  port: number;
  listening: boolean;
  /** Why it is not listening (e.g. the gateway address is not configured yet); retried by retryListeners. */
  error?: string;
}

export interface ResponderStats {
  queries: number;
  /** Not DNS queries at all (garbage, responses, oversized): nothing was sent back. */
  dropped: number;
  answeredLocally: number;
  forwarded: number;
  /** Forwards refused because maxPending were in flight. */
  busy: number;
  /** Forwards no upstream answered. */
  failed: number;
  pendingForwards: number;
  tcpConnections: number;
}

interface ServedNetwork {
  config: NetworkConfig;
  domain?: string;
  subnets: Cidr[];
}

interface ListenerSlot {
  network: string;
  address: string;
  port: number;
  listener?: Listener;
  error?: string;
  opening?: Promise<void>;
}

const slotKey = (network: string, address: string, port: number) => `${network}|${address}|${port}`;

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Checks a network config and normalizes it; throws a message naming the network and the bad value. */
export function validateNetworkConfig(config: NetworkConfig): ServedNetwork {
  const bad = (what: string) => new Error(`DNS network ${JSON.stringify(config.name)}: ${what}`);
  if (!NETWORK_NAME.test(config.name)) throw bad('invalid network name');
  for (const a of config.listen) if (!parseAddr(a)) throw bad(`listen address ${JSON.stringify(a)} is not an IP address`);
  if (config.port !== undefined && (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535)) throw bad(`invalid port ${config.port}`);
  const domain = config.domain ? normalizeName(config.domain) : undefined;
  if (domain !== undefined && !/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9])?$/.test(domain)) throw bad(`invalid domain ${JSON.stringify(config.domain)}`);
  const subnets: Cidr[] = [];
  for (const text of config.subnets ?? []) {
    const cidr = parseCidr(text);
    if (!cidr) throw bad(`subnet ${JSON.stringify(text)} is not a CIDR`);
    subnets.push(cidr);
  }
  return { config, subnets, ...(domain ? { domain } : {}) };
}

export class DnsResponder {
  private readonly port: number;
  private readonly ttl: number;
  private readonly limits: ResponderLimits;
  private readonly log: (message: string) => void;
  private readonly forwarder: Forwarder;
  private readonly tcp: TcpConnections;
  private upstreams: Server[];
  private readonly networks = new Map<string, ServedNetwork>();
  private readonly records = new Map<string, NetworkRecords>();
  private readonly slots = new Map<string, ListenerSlot>();
  // Derived from all records: who holds an address, and where each container is attached.
  private owners = new Map<string, { network: string; container: ContainerRecord }[]>();
  private attachments = new Map<string, Set<string>>();
  private counters = { queries: 0, dropped: 0, answeredLocally: 0, forwarded: 0, busy: 0, failed: 0 };
  private closed = false;

  constructor(opts: ResponderOptions = {}) {
    this.port = opts.port ?? DNS_PORT;
    this.ttl = opts.ttl ?? DEFAULT_TTL;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.log ?? (() => undefined);
    this.upstreams = opts.upstreams ?? [];
    this.forwarder = new Forwarder(this.limits);
    this.tcp = new TcpConnections(this.limits);
  }

  /**
   * Serves exactly these networks: opens listeners for new addresses, closes those no longer
   * listed, updates domains and subnets. A listener that cannot bind is reported in the result
   * (and kept for retryListeners) rather than failing the others. Throws on an invalid config.
   */
  async setNetworks(configs: readonly NetworkConfig[]): Promise<ListenerStatus[]> {
    const served = configs.map(validateNetworkConfig);
    this.networks.clear();
    for (const s of served) this.networks.set(s.config.name, s);
    const wanted = new Map<string, ListenerSlot>();
    for (const { config } of served) {
      for (const text of config.listen) {
        const address = canonicalAddress(text) as string;
        const port = config.port ?? this.port;
        wanted.set(slotKey(config.name, address, port), { network: config.name, address, port });
      }
    }
    const closing: Promise<void>[] = [];
    for (const [key, slot] of this.slots) {
      if (wanted.has(key)) continue;
      this.slots.delete(key);
      closing.push((slot.opening ?? Promise.resolve()).then(() => slot.listener?.close()));
    }
    await Promise.all(closing);
    for (const [key, slot] of wanted) if (!this.slots.has(key)) this.slots.set(key, slot);
    return this.retryListeners();
  }

  /** Tries again to open the listeners that are not listening (an address that appeared since, a port freed). */
  async retryListeners(): Promise<ListenerStatus[]> {
    await Promise.all([...this.slots.values()].map((slot) => (slot.listener ? undefined : this.open(slot))));
    return this.listeners();
  }

  private open(slot: ListenerSlot): Promise<void> {
    slot.opening ??= (async () => {
      try {
        const listener = await Listener.open(slot.address, slot.port, (q) => this.handle(q, slot.network), {
          tcp: this.tcp,
          maxQueryBytes: this.limits.maxQueryBytes,
          onError: (err) => this.log(`listener ${slot.address} port ${slot.port}: ${(err as Error).message}`),
        });
        // Closed or dropped from the config while binding: do not leave it open.
        if (this.closed || this.slots.get(slotKey(slot.network, slot.address, slot.port)) !== slot) await listener.close();
        else {
          slot.listener = listener;
          slot.port = listener.port;
          delete slot.error;
        }
      } catch (err) {
        const message = (err as Error).message;
        if (slot.error !== message) this.log(`network ${slot.network}: cannot listen on ${slot.address} port ${slot.port}: ${message}`);
        slot.error = message;
      } finally {
        delete slot.opening;
      }
    })();
    return slot.opening;
  }

  listeners(): ListenerStatus[] {
    return [...this.slots.values()].map((s) => ({
      network: s.network,
      address: s.address,
      port: s.port,
      listening: s.listener !== undefined,
      ...(s.error ? { error: s.error } : {}),
    }));
  }

  /** Replaces a network's container records (validated; throws on invalid input, keeping the old ones). */
  setRecords(network: string, containers: readonly (ContainerRecordInput | ContainerRecord)[]): void {
    const valid = validateRecords(containers, `records of network ${network}`);
    this.records.set(network, new NetworkRecords(valid));
    this.reindex();
  }

  removeRecords(network: string): void {
    if (this.records.delete(network)) this.reindex();
  }

  setUpstreams(servers: Server[]): void {
    this.upstreams = servers;
  }

  private reindex(): void {
    const owners = new Map<string, { network: string; container: ContainerRecord }[]>();
    const attachments = new Map<string, Set<string>>();
    for (const [network, records] of this.records) {
      for (const container of records.containers) {
        for (const a of [...container.ipv4, ...container.ipv6]) owners.set(a, [...(owners.get(a) ?? []), { network, container }]);
        attachments.set(container.id, (attachments.get(container.id) ?? new Set()).add(network));
      }
    }
    this.owners = owners;
    this.attachments = attachments;
  }

  private view(network: string): NetworkView {
    const served = this.networks.get(network);
    return {
      name: network,
      records: this.records.get(network) ?? new NetworkRecords(),
      ...(served?.domain ? { domain: served.domain } : {}),
      ...(served?.subnets.length ? { subnets: served.subnets } : {}),
    };
  }

  /** The networks a query from `source` to a listener of `network` may see, and where its forwards go; undefined: refused. */
  private scopeOf(network: string, source: string): { views: NetworkView[]; upstreams: Server[] } | undefined {
    const address = canonicalAddress(source);
    const holders = address ? (this.owners.get(address) ?? []) : [];
    const asker = (holders.find((h) => h.network === network) ?? holders[0])?.container;
    if (asker) {
      const networks = [...(this.attachments.get(asker.id) ?? [])];
      return { views: networks.map((n) => this.view(n)), upstreams: asker.dnsServers.length ? asker.dnsServers : this.upstreams };
    }
    const served = this.networks.get(network);
    if (!served) return undefined;
    if (served.subnets.length && !served.subnets.some((c) => inSubnet(source, c))) return undefined;
    return { views: [this.view(network)], upstreams: this.upstreams };
  }

  private async handle(q: IncomingQuery, network: string): Promise<Buffer | undefined> {
    this.counters.queries++;
    const query = q.message.length <= this.limits.maxQueryBytes ? decodeQuery(q.message) : undefined;
    if (!query) {
      this.counters.dropped++;
      return undefined;
    }
    const limit = q.protocol === 'udp' ? udpSizeLimit(query) : TCP_MAX_SIZE;
    if (!isStandardQuery(query)) return errorResponse(query, RCODE.NOTIMP, limit);
    const question = query.questions?.[0];
    if (!question || query.questions?.length !== 1) return errorResponse(query, RCODE.FORMERR, limit);
    const scope = this.scopeOf(network, q.source);
    if (!scope) return errorResponse(query, RCODE.REFUSED, limit);

    const resolution = resolveQuestion(question, scope.views, { ttl: this.ttl, order: shuffle });
    if (resolution.kind === 'local') {
      this.counters.answeredLocally++;
      return encodeResponse(responseTo(query, { rcode: resolution.rcode, answers: resolution.answers, authoritative: true }), limit);
    }
    this.counters.forwarded++;
    const result = await this.forwarder.forward(q.message, scope.upstreams, q.protocol);
    if (result.kind !== 'answer') {
      this.counters[result.kind]++;
      return errorResponse(query, RCODE.SERVFAIL, limit);
    }
    return result.message.length > limit ? truncatedResponse(query) : result.message;
  }

  stats(): ResponderStats {
    return { ...this.counters, pendingForwards: this.forwarder.pending, tcpConnections: this.tcp.count };
  }

  /** Closes every listener and connection and cancels the forwards in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.forwarder.close();
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map(async (s) => {
      await s.opening;
      await s.listener?.close();
    }));
  }
}
