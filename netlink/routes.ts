// Routes, IPv4 and IPv6, in the namespace of the Rtnl given. An added route is always of type unicast
// with a protocol (RTPROT_BOOT unless given, as iproute2 does): the kernel rejects a route of type 0.
import { isNetlinkError } from './errors.js';
import { formatCidr, formatIp, networkOf, parseCidr, parseIp, type Family } from './ip.js';
import { linkIndex, linkLabel, type LinkRef } from './links.js';
import type { Rtnl } from './rtnl.js';
import { AF_INET, AF_INET6, NLM_F, RTMSG_LEN, RTM, attrU32, decodeAttrs, encodeAttrs, parseRtmsg, rtmsg, u32 } from './wire.js';

const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;
const RTNH_F_ONLINK = 4;
const RTN_UNICAST = 1;
const RTPROT_BOOT = 3;
export const MAIN_TABLE = 254;

const SCOPES = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export type RouteScope = keyof typeof SCOPES;

const TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw'] as const;

export interface RouteSpec {
  /** Destination prefix ("10.2.0.0/16"; host bits are cleared), or "default". */
  dst: string;
  /** Needed only for "default" without a gateway. */
  family?: Family;
  gateway?: string;
  /** Output device. */
  dev?: LinkRef;
  /** Route priority (metric); lower wins. */
  metric?: number;
  /** Defaults to "link" for a route without gateway (on-link), "universe" otherwise. */
  scope?: RouteScope;
  /** Routing table id; main (254) by default. */
  table?: number;
  /** RTPROT_* (2 kernel, 3 boot, 4 static, ...); 3 by default. */
  protocol?: number;
  /** Preferred source address. */
  src?: string;
  /** Use the gateway as directly reachable on dev even outside its prefixes (RTNH_F_ONLINK). */
  onLink?: boolean;
}

export interface Route {
  family: Family;
  /** Destination prefix, "0.0.0.0/0" or "::/0" for a default route. */
  dst: string;
  gateway: string | undefined;
  /** Output device index. */
  dev: number | undefined;
  metric: number | undefined;
  scope: RouteScope | number;
  table: number;
  protocol: number;
  type: (typeof TYPES)[number] | number;
  src: string | undefined;
  onLink: boolean;
}

interface ResolvedRoute {
  family: Family;
  dst: Buffer | undefined;
  dstLen: number;
  gateway: Buffer | undefined;
}

function resolve(spec: RouteSpec, op: string): ResolvedRoute {
  const gateway = spec.gateway === undefined ? undefined : parseIp(spec.gateway);
  if (spec.dst === 'default') {
    const family = gateway?.family ?? spec.family;
    if (family === undefined) throw new TypeError(`${op}: a default route needs a gateway or a family`);
    return { family, dst: undefined, dstLen: 0, gateway: gateway?.bytes };
  }
  const dst = parseCidr(spec.dst);
  if (gateway && gateway.family !== dst.family) throw new TypeError(`${op}: gateway and destination families differ`);
  return { family: dst.family, dst: dst.prefix ? networkOf(dst) : undefined, dstLen: dst.prefix, gateway: gateway?.bytes };
}

function describe(spec: RouteSpec): string {
  return [
    `route ${spec.dst}`,
    spec.gateway && `via ${spec.gateway}`,
    spec.dev !== undefined && `dev ${linkLabel(spec.dev)}`,
    spec.metric !== undefined && `metric ${spec.metric}`,
    spec.table !== undefined && `table ${spec.table}`,
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * The request for a route. Deletion matches loosely, as `ip route del` does: any scope, type and
 * protocol unless given, and only the attributes the spec names.
 */
async function routeMessage(rtnl: Rtnl, spec: RouteSpec, op: string, forAdd: boolean): Promise<Buffer[]> {
  const r = resolve(spec, op);
  const dev = spec.dev === undefined ? undefined : await linkIndex(rtnl, spec.dev, op);
  const table = spec.table ?? MAIN_TABLE;
  const scope = spec.scope !== undefined ? SCOPES[spec.scope] : !forAdd ? SCOPES.nowhere : r.gateway ? SCOPES.universe : SCOPES.link;
  return [
    rtmsg({
      family: r.family === 4 ? AF_INET : AF_INET6,
      dstLen: r.dstLen,
      srcLen: 0,
      tos: 0,
      // Table ids above 255 only fit RTA_TABLE.
      table: table < 256 ? table : 0,
      protocol: spec.protocol ?? (forAdd ? RTPROT_BOOT : 0),
      scope,
      type: forAdd ? RTN_UNICAST : 0,
      flags: spec.onLink ? RTNH_F_ONLINK : 0,
    }),
    encodeAttrs([
      [RTA.TABLE, u32(table)],
      r.dst && [RTA.DST, r.dst],
      r.gateway && [RTA.GATEWAY, r.gateway],
      dev !== undefined && [RTA.OIF, u32(dev)],
      spec.metric !== undefined && [RTA.PRIORITY, u32(spec.metric)],
      spec.src !== undefined && [RTA.PREFSRC, parseIp(spec.src).bytes],
    ]),
  ];
}

/** Adds a route; EEXIST when the same route (destination, table, metric) exists. */
export async function addRoute(rtnl: Rtnl, spec: RouteSpec): Promise<void> {
  const op = `add ${describe(spec)}`;
  await rtnl.request(op, RTM.NEWROUTE, await routeMessage(rtnl, spec, op, true), NLM_F.CREATE | NLM_F.EXCL);
}

/** Deletes a route; false when absent and ignoreMissing is set (the kernel says ESRCH, or ENOENT for IPv6). */
export async function deleteRoute(rtnl: Rtnl, spec: RouteSpec, opts: { ignoreMissing?: boolean } = {}): Promise<boolean> {
  const op = `delete ${describe(spec)}`;
  try {
    await rtnl.request(op, RTM.DELROUTE, await routeMessage(rtnl, spec, op, false));
    return true;
  } catch (err) {
    if (opts.ignoreMissing && isNetlinkError(err, 'ESRCH', 'ENOENT')) return false;
    throw err;
  }
}

function parseRoute(data: Buffer): Route | undefined {
  const m = parseRtmsg(data);
  if (m.family !== AF_INET && m.family !== AF_INET6) return undefined;
  const family: Family = m.family === AF_INET ? 4 : 6;
  const a = decodeAttrs(data.subarray(RTMSG_LEN));
  const ip = (t: number) => {
    const v = a.get(t);
    return v ? formatIp(v) : undefined;
  };
  const scope = Object.entries(SCOPES).find(([, v]) => v === m.scope)?.[0] as RouteScope | undefined;
  return {
    family,
    dst: formatCidr(a.get(RTA.DST) ?? Buffer.alloc(family === 4 ? 4 : 16), m.dstLen),
    gateway: ip(RTA.GATEWAY),
    dev: attrU32(a, RTA.OIF),
    metric: attrU32(a, RTA.PRIORITY),
    scope: scope ?? m.scope,
    table: attrU32(a, RTA.TABLE) ?? m.table,
    protocol: m.protocol,
    type: TYPES[m.type] ?? m.type,
    src: ip(RTA.PREFSRC),
    onLink: (m.flags & RTNH_F_ONLINK) !== 0,
  };
}

/** Routes of one table (main by default, 'all' for every table), optionally one family and/or device. */
export async function listRoutes(rtnl: Rtnl, filter: { family?: Family; table?: number | 'all'; dev?: LinkRef } = {}): Promise<Route[]> {
  const op = `list routes${filter.dev !== undefined ? ` of ${linkLabel(filter.dev)}` : ''}`;
  const dev = filter.dev === undefined ? undefined : await linkIndex(rtnl, filter.dev, op);
  const table = filter.table ?? MAIN_TABLE;
  const families = filter.family === undefined ? [AF_INET, AF_INET6] : [filter.family === 4 ? AF_INET : AF_INET6];
  const out: Route[] = [];
  for (const family of families) {
    const header = rtmsg({ family, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
    for (const m of await rtnl.dump(op, RTM.GETROUTE, [header])) {
      const route = parseRoute(m.data);
      if (!route || (table !== 'all' && route.table !== table) || (dev !== undefined && route.dev !== dev)) continue;
      out.push(route);
    }
  }
  return out;
}
