// The names one network's containers answer to, indexed for the responder: container names,
// aliases and short ids map to containers, canonical addresses map back to the container (PTR and
// "who is asking"). Pure: the records come from the engine (a file or the in-process API).
import * as v from 'valibot';
import { formatAddr, parseAddr } from '../ip/address.js';
import { type Server, parseServer } from './upstreams.js';

/** Docker resolves a container by the first 12 hex digits of its id. */
export const SHORT_ID_LENGTH = 12;

export interface ContainerRecord {
  /** The full container id; its first 12 hex digits resolve too. */
  id: string;
  name: string;
  /** Network aliases (`--alias`, `network connect --alias`); several containers may share one. */
  aliases: string[];
  ipv4: string[];
  ipv6: string[];
  /**
   * The container's own upstream resolvers (`ctnet run --dns` on a user network): names the
   * responder forwards for this container go there instead of the responder's upstreams.
   */
  dnsServers: Server[];
}

/** A record as the engine writes it: lists may be left out. */
export type ContainerRecordInput = v.InferInput<typeof ContainerRecordSchema>;

/** DNS names compare ASCII case-insensitively (RFC 4343), and "web." is "web". */
export const normalizeName = (name: string): string =>
  name.replace(/\.$/, '').replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/** Canonical text of an address (so "fd00::0:2" and "fd00::2" are one key), or undefined. */
export function canonicalAddress(text: string): string | undefined {
  const addr = parseAddr(text);
  return addr ? formatAddr(addr) : undefined;
}

const shortIdOf = (id: string): string | undefined =>
  /^[0-9a-f]{12,}$/i.test(id) ? normalizeName(id.slice(0, SHORT_ID_LENGTH)) : undefined;

// A name is one or more labels of letters, digits, '_' and '-' (Docker's container-name alphabet
// plus the dots a DNS name may have); anything else could not be asked for anyway.
const NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$/;
const nameSchema = v.pipe(v.string(), v.regex(NAME, 'is not a DNS-usable name (letters, digits, "_", "-", ".")'));
const addressOf = (family: 4 | 6) =>
  v.pipe(
    v.string(),
    v.check((text) => parseAddr(text)?.family === family, `is not an IPv${family} address`),
    v.transform((text) => canonicalAddress(text) as string),
  );

function serverOf({ dataset, addIssue, NEVER }: v.RawTransformContext<string>): Server {
  try {
    return parseServer(dataset.value);
  } catch (err) {
    addIssue({ message: (err as Error).message });
    return NEVER;
  }
}

export const ContainerRecordSchema = v.object({
  id: v.pipe(v.string(), v.nonEmpty('must not be empty')),
  name: nameSchema,
  aliases: v.optional(v.array(nameSchema), () => []),
  ipv4: v.optional(v.array(addressOf(4)), () => []),
  ipv6: v.optional(v.array(addressOf(6)), () => []),
  dnsServers: v.optional(v.array(v.pipe(v.string(), v.rawTransform(serverOf))), () => []),
});

/** Checks records from outside (the engine's file or API) and fills in the defaults; throws naming the first problems. */
export function validateRecords(input: unknown, what = 'records'): ContainerRecord[] {
  const r = v.safeParse(v.array(ContainerRecordSchema), input);
  if (r.success) return r.output;
  throw new Error(`invalid ${what}: ${r.issues.slice(0, 3).map((i) => `${v.getDotPath(i) ?? ''} ${i.message}`.trim()).join('; ')}`);
}

/** One network's records, indexed by every name a container answers to and by address. */
export class NetworkRecords {
  private readonly byName = new Map<string, ContainerRecord[]>();
  private readonly byAddress = new Map<string, ContainerRecord>();

  constructor(readonly containers: readonly ContainerRecord[] = []) {
    for (const c of containers) {
      const shortId = shortIdOf(c.id);
      const keys = new Set([c.name, ...c.aliases, ...(shortId ? [shortId] : [])].map(normalizeName));
      for (const key of keys) {
        const list = this.byName.get(key);
        if (list) list.push(c);
        else this.byName.set(key, [c]);
      }
      // The first container listing an address owns it (a stale duplicate must not steal a PTR).
      for (const a of [...c.ipv4, ...c.ipv6]) if (!this.byAddress.has(a)) this.byAddress.set(a, c);
    }
  }

  /** Containers answering to a normalized name (see normalizeName): by name, alias or short id. */
  find(name: string): readonly ContainerRecord[] {
    return this.byName.get(name) ?? [];
  }

  /** The container holding a canonical address. */
  at(address: string): ContainerRecord | undefined {
    return this.byAddress.get(address);
  }
}
