// The host-local IPAM configuration: shape checks with valibot, then the semantic checks that make
// every Range the allocator sees sound (defaults filled in, families consistent, nothing overlapping).
// Pure: no file is read here (resolvConf is read at ADD time).
import * as v from 'valibot';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { NetConf, Route } from '../cni/types.js';
import { validateNetworkName } from '../cni/validate.js';
import { type Cidr, type IpAddr, familyBits, familyName, formatAddr, formatCidr, lastOf, networkOf, parseAddr, parseCidr } from '../ip/address.js';
import { type Range, type RangeSet, addressText, formatRange, isAssignable } from './range.js';

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface IpamConfig {
  /** The network name: the store's directory under dataDir. */
  network: string;
  dataDir: string;
  /** One address per set; the index is the store's last_reserved_ip.<index>. */
  rangeSets: RangeSet[];
  routes: Route[];
  resolvConf?: string;
}

const RangeSchema = v.looseObject({
  subnet: v.string(),
  rangeStart: v.optional(v.string()),
  rangeEnd: v.optional(v.string()),
  gateway: v.optional(v.string()),
});
type RangeInput = v.InferOutput<typeof RangeSchema>;

const RangeSetsSchema = v.array(v.array(RangeSchema));

const RouteSchema = v.looseObject({
  dst: v.string(),
  gw: v.optional(v.string()),
  mtu: v.optional(v.pipe(v.number(), v.integer())),
  advmss: v.optional(v.pipe(v.number(), v.integer())),
  priority: v.optional(v.pipe(v.number(), v.integer())),
  table: v.optional(v.pipe(v.number(), v.integer())),
  scope: v.optional(v.pipe(v.number(), v.integer())),
});

const NetConfSchema = v.looseObject({
  name: v.string(),
  ipam: v.looseObject({
    subnet: v.optional(v.string()),
    rangeStart: v.optional(v.string()),
    rangeEnd: v.optional(v.string()),
    gateway: v.optional(v.string()),
    ranges: v.optional(RangeSetsSchema),
    routes: v.optional(v.array(RouteSchema)),
    dataDir: v.optional(v.pipe(v.string(), v.nonEmpty('dataDir must not be empty'))),
    resolvConf: v.optional(v.string()),
  }),
  runtimeConfig: v.optional(v.looseObject({ ipRanges: v.optional(RangeSetsSchema) })),
});
type ParsedNetConf = v.InferOutput<typeof NetConfSchema>;

// Only ADD reads these, so a malformed request never stands in the way of a DEL.
const RequestSchema = v.looseObject({
  runtimeConfig: v.optional(v.looseObject({ ips: v.optional(v.array(v.string())) })),
  args: v.optional(v.looseObject({ cni: v.optional(v.looseObject({ ips: v.optional(v.array(v.string())) })) })),
});

const invalid = (msg: string): CniError => new CniError(ErrorCode.InvalidNetworkConfig, msg);

function issuePath(issue: v.BaseIssue<unknown>): string {
  let path = '';
  for (const item of issue.path ?? []) {
    const key = item.key as unknown;
    path += typeof key === 'number' ? `[${key}]` : `${path ? '.' : ''}${String(key)}`;
  }
  return path || 'config';
}

function parseShape<S extends v.GenericSchema>(schema: S, conf: NetConf): v.InferOutput<S> {
  const result = v.safeParse(schema, conf);
  if (result.success) return result.output;
  // valibot words a missing key as 'Invalid key: Expected "x" but received undefined'.
  const describe = (i: v.BaseIssue<unknown>) => `${issuePath(i)}${i.input === undefined ? ' is required' : `: ${i.message}`}`;
  throw invalid(result.issues.map(describe).join('; '));
}

/** Builds one validated Range; `where` names it in messages (e.g. `ipam.ranges[0][1]`). */
function buildRange(input: RangeInput, where: string): Range {
  const cidr = parseCidr(input.subnet);
  if (!cidr) throw invalid(`${where}.subnet "${input.subnet}" is not a subnet in CIDR notation (e.g. 10.22.0.0/16)`);
  const { family } = cidr.addr;
  const network = networkOf(cidr);
  const subnet: Cidr = { addr: { family, value: network }, prefix: cidr.prefix };
  if (network !== cidr.addr.value) {
    throw invalid(`${where}.subnet ${input.subnet} has host bits set; the subnet is ${formatCidr(subnet)}`);
  }
  const bits = familyBits(family);
  if (cidr.prefix > bits - 2) {
    throw invalid(
      `${where}.subnet ${input.subnet} is too small: an ${familyName(family)} subnet needs a prefix of /${bits - 2} or shorter ` +
        `(at least 2 usable addresses)`,
    );
  }
  const last = lastOf(cidr);

  // An address field must be of the subnet's family and inside it.
  const addressIn = (field: 'gateway' | 'rangeStart' | 'rangeEnd', fallback: bigint): bigint => {
    const raw = input[field];
    if (raw === undefined) return fallback;
    const addr = parseAddr(raw);
    if (!addr) throw invalid(`${where}.${field} "${raw}" is not an IP address`);
    if (addr.family !== family || addr.value < network || addr.value > last) {
      throw invalid(`${where}.${field} ${raw} is outside the subnet ${formatCidr(subnet)}`);
    }
    return addr.value;
  };
  const range: Range = {
    family,
    subnet,
    gateway: addressIn('gateway', network + 1n),
    start: addressIn('rangeStart', network + 1n),
    // IPv4 keeps its broadcast address out; IPv6 has none.
    end: addressIn('rangeEnd', family === 4 ? last - 1n : last),
  };
  if (range.start > range.end) {
    throw invalid(`${where}: rangeStart ${addressText(range, range.start)} is after rangeEnd ${addressText(range, range.end)}`);
  }
  if (!hasAssignable(range)) {
    throw invalid(`${where}: range ${formatRange(range)} holds no assignable address (only the gateway, network or broadcast address)`);
  }
  return range;
}

/** At most 3 addresses of a range are excluded, so looking at its first 4 decides. */
function hasAssignable(r: Range): boolean {
  for (let value = r.start; value <= r.end && value < r.start + 4n; value++) if (isAssignable(r, value)) return true;
  return false;
}

interface LabelledRange {
  range: Range;
  where: string;
}

function checkNoOverlap(all: readonly LabelledRange[]): void {
  all.forEach((a, i) => {
    for (const b of all.slice(i + 1)) {
      if (a.range.family === b.range.family && a.range.start <= b.range.end && b.range.start <= a.range.end) {
        throw invalid(`${a.where} (${formatRange(a.range)}) and ${b.where} (${formatRange(b.range)}) overlap`);
      }
    }
  });
}

/**
 * The range sets, from the first source that has any: runtimeConfig.ipRanges (the runtime's choice
 * replaces the configured ones), else the legacy top-level subnet followed by ipam.ranges.
 */
function rangeSets(parsed: ParsedNetConf): RangeSet[] {
  // Each set with the label of each of its ranges, for messages.
  const inputs: { where: string; ranges: { input: RangeInput; where: string }[] }[] = [];
  const listed = (set: RangeInput[], where: string) => ({ where, ranges: set.map((input, j) => ({ input, where: `${where}[${j}]` })) });
  const runtime = parsed.runtimeConfig?.ipRanges ?? [];
  if (runtime.length > 0) {
    runtime.forEach((set, i) => inputs.push(listed(set, `runtimeConfig.ipRanges[${i}]`)));
  } else {
    const { subnet, rangeStart, rangeEnd, gateway } = parsed.ipam;
    if (subnet !== undefined) inputs.push({ where: 'ipam', ranges: [{ input: { subnet, rangeStart, rangeEnd, gateway }, where: 'ipam' }] });
    (parsed.ipam.ranges ?? []).forEach((set, i) => inputs.push(listed(set, `ipam.ranges[${i}]`)));
  }
  if (inputs.length === 0) throw invalid('no address ranges: set ipam.ranges (or the legacy ipam.subnet)');

  const all: LabelledRange[] = [];
  const sets = inputs.map(({ where, ranges }) => {
    if (ranges.length === 0) throw invalid(`${where} is an empty range set`);
    const built = ranges.map((r) => {
      const range = buildRange(r.input, r.where);
      all.push({ range, where: r.where });
      return range;
    });
    if (new Set(built.map((r) => r.family)).size > 1) throw invalid(`${where} mixes IPv4 and IPv6 ranges; use one range set per family`);
    return built;
  });
  checkNoOverlap(all);
  return sets;
}

function buildRoute(route: v.InferOutput<typeof RouteSchema>, where: string): Route {
  if (!parseCidr(route.dst)) throw invalid(`${where}.dst "${route.dst}" is not a destination in CIDR notation`);
  if (route.gw !== undefined && !parseAddr(route.gw)) throw invalid(`${where}.gw "${route.gw}" is not an IP address`);
  const { dst, gw, mtu, advmss, priority, table, scope } = route;
  // Only the fields the spec defines, and only those that are set.
  return JSON.parse(JSON.stringify({ dst, gw, mtu, advmss, priority, table, scope })) as Route;
}

/** Validates the network configuration's IPAM part; throws CniError code 7 with the reason. */
export function loadIpamConfig(conf: NetConf): IpamConfig {
  // The name becomes a directory: the spec's grammar keeps it a single, safe path component.
  validateNetworkName(conf.name);
  const parsed = parseShape(NetConfSchema, conf);
  const { dataDir, resolvConf, routes = [] } = parsed.ipam;
  return {
    network: parsed.name,
    dataDir: dataDir ?? DEFAULT_DATA_DIR,
    rangeSets: rangeSets(parsed),
    routes: routes.map((r, i) => buildRoute(r, `ipam.routes[${i}]`)),
    ...(resolvConf ? { resolvConf } : {}),
  };
}

/**
 * The addresses the runtime asks for, from runtimeConfig.ips (the `ips` capability), args.cni.ips
 * and CNI_ARGS `IP=` (comma separated), deduplicated. A prefix length, if given, is ignored: the
 * range's subnet decides it.
 */
export function requestedAddresses(conf: NetConf, cniArgs: ReadonlyMap<string, string>): IpAddr[] {
  const parsed = parseShape(RequestSchema, conf);
  const sources: { where: string; values: readonly string[] }[] = [
    { where: 'runtimeConfig.ips', values: parsed.runtimeConfig?.ips ?? [] },
    { where: 'args.cni.ips', values: parsed.args?.cni?.ips ?? [] },
    { where: 'CNI_ARGS IP', values: cniArgs.get('IP')?.split(',').map((s) => s.trim()).filter(Boolean) ?? [] },
  ];
  const byText = new Map<string, IpAddr>();
  for (const { where, values } of sources) {
    for (const raw of values) {
      const addr = raw.includes('/') ? parseCidr(raw)?.addr : parseAddr(raw);
      if (!addr) throw invalid(`${where}: "${raw}" is not an IP address`);
      byText.set(formatAddr(addr), addr);
    }
  }
  return [...byText.values()];
}
