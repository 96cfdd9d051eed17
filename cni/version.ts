// Spec versions and the conversion of results between them. Internally every result has the 1.1.0
// shape; older wire versions differ only in details (0.3.x/0.4.0 tag each IP with its family, and
// know none of the fields 1.1.0 added).
import { CniError, ErrorCode } from './errors.js';
import type { IPConfig, Interface, Result, Route } from './types.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

function parts(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Semver-style comparison of two x.y.z versions; unparsable versions sort first. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a) ?? [-1, 0, 0];
  const pb = parts(b) ?? [-1, 0, 0];
  for (let i = 0; i < 3; i++) {
    if (pa[i]! !== pb[i]!) return pa[i]! - pb[i]!;
  }
  return 0;
}

export function isSupported(version: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

export function assertSupported(version: string): void {
  if (!isSupported(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `incompatible CNI version: the network config asks for ${JSON.stringify(version)}, ctnet supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
}

const ROUTE_1_1_FIELDS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

/** The result as a plugin prints it for the given spec version. */
export function toWire(result: Result, version: string): Record<string, unknown> {
  assertSupported(version);
  const legacy = compareVersions(version, '1.0.0') < 0;
  const v11 = compareVersions(version, '1.1.0') >= 0;
  const out: Record<string, unknown> = { cniVersion: version };
  if (result.interfaces) {
    out.interfaces = result.interfaces.map((i) => (v11 ? { ...i } : withoutKeys(i, ['socketPath', 'pciID'])));
  }
  if (result.ips) {
    out.ips = result.ips.map((ip) => (legacy ? { version: familyOf(ip.address), ...ip } : { ...ip }));
  }
  if (result.routes) {
    out.routes = result.routes.map((r) => (v11 ? { ...r } : withoutKeys(r, ROUTE_1_1_FIELDS)));
  }
  out.dns = result.dns ?? {};
  return out;
}

function withoutKeys<T extends object>(obj: T, keys: readonly string[]): T {
  const copy = { ...obj } as Record<string, unknown>;
  for (const k of keys) delete copy[k];
  return copy as T;
}

/** A result's address is already validated CIDR text: only IPv6 has colons (node:net costs ~5 ms to load). */
function familyOf(cidr: string): '4' | '6' {
  return cidr.includes(':') ? '6' : '4';
}

/**
 * Parses a result received on the wire (a prevResult, or a delegate plugin's output) of the given
 * version into the internal shape. Throws code 6 (decoding) for malformed input.
 */
export function fromWire(raw: unknown, version: string, what = 'result'): Result {
  const bad = (msg: string) => new CniError(ErrorCode.DecodingFailure, `malformed ${what}: ${msg}`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('not a JSON object');
  const obj = raw as Record<string, unknown>;
  if (compareVersions(version, '0.3.0') < 0) {
    throw new CniError(ErrorCode.IncompatibleVersion, `cannot convert a ${what} of version ${version}: ctnet reads 0.3.0 and later`);
  }
  const result: Result = { cniVersion: LATEST_VERSION };
  if (obj.interfaces !== undefined) {
    if (!Array.isArray(obj.interfaces)) throw bad('"interfaces" is not a list');
    result.interfaces = obj.interfaces.map((i, n) => {
      if (!i || typeof i !== 'object' || typeof (i as Interface).name !== 'string') throw bad(`interfaces[${n}] has no name`);
      return { ...(i as Interface) };
    });
  }
  if (obj.ips !== undefined) {
    if (!Array.isArray(obj.ips)) throw bad('"ips" is not a list');
    result.ips = obj.ips.map((ip, n) => {
      if (!ip || typeof ip !== 'object' || typeof (ip as IPConfig).address !== 'string') throw bad(`ips[${n}] has no address`);
      const { version: _family, ...rest } = ip as IPConfig & { version?: string };
      if (!/\/\d+$/.test(rest.address)) throw bad(`ips[${n}].address ${JSON.stringify(rest.address)} is not in CIDR notation`);
      if (rest.interface !== undefined && (!Number.isInteger(rest.interface) || rest.interface < 0)) {
        throw bad(`ips[${n}].interface is not an index`);
      }
      return rest;
    });
  }
  if (obj.routes !== undefined) {
    if (!Array.isArray(obj.routes)) throw bad('"routes" is not a list');
    result.routes = obj.routes.map((r, n) => {
      if (!r || typeof r !== 'object' || typeof (r as Route).dst !== 'string') throw bad(`routes[${n}] has no dst`);
      return { ...(r as Route) };
    });
  }
  if (obj.dns !== undefined && obj.dns !== null) {
    if (typeof obj.dns !== 'object') throw bad('"dns" is not an object');
    result.dns = { ...(obj.dns as object) };
  }
  return result;
}
