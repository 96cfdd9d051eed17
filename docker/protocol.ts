// libnetwork's remote driver protocol (NetworkDriver and IpamDriver, plugin API v1.2): the request
// bodies dockerd sends, checked with valibot, and the reply shapes. dockerd is a Go program: absent
// maps and slices arrive as null, absent strings as "", so every optional field is nullish and an
// empty string means "not given".
import * as v from 'valibot';
import { badRequest } from './errors.js';

export const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** Option keys libnetwork uses (netlabel). */
export const LABEL = {
  generic: 'com.docker.network.generic',
  enableIPv6: 'com.docker.network.enable_ipv6',
  internal: 'com.docker.network.internal',
  portMap: 'com.docker.network.portmap',
  exposedPorts: 'com.docker.network.endpoint.exposedports',
  gateway: 'com.docker.network.gateway',
  requestAddressType: 'RequestAddressType',
} as const;

const id = (what: string) => v.pipe(v.string(`${what} must be a string`), v.nonEmpty(`${what} is required`));
const text = v.nullish(v.string(), '');
const anyMap = v.nullish(v.record(v.string(), v.unknown()), {});
const stringMap = v.nullish(v.record(v.string(), v.string()), {});

const IpamData = v.looseObject({
  AddressSpace: text,
  /** "10.1.2.0/24". */
  Pool: v.string('IPAMData.Pool must be a string'),
  /** The gateway with the pool's prefix, "10.1.2.1/24"; absent on a network without a gateway. */
  Gateway: text,
  AuxAddresses: stringMap,
});
export type IpamData = v.InferOutput<typeof IpamData>;

const Interface = v.nullish(v.looseObject({ Address: text, AddressIPv6: text, MacAddress: text }), {});

export const schemas = {
  CreateNetwork: v.looseObject({
    NetworkID: id('NetworkID'),
    Options: anyMap,
    IPv4Data: v.nullish(v.array(IpamData), []),
    IPv6Data: v.nullish(v.array(IpamData), []),
  }),
  DeleteNetwork: v.looseObject({ NetworkID: id('NetworkID') }),
  CreateEndpoint: v.looseObject({ NetworkID: id('NetworkID'), EndpointID: id('EndpointID'), Interface, Options: anyMap }),
  Endpoint: v.looseObject({ NetworkID: id('NetworkID'), EndpointID: id('EndpointID') }),
  Join: v.looseObject({ NetworkID: id('NetworkID'), EndpointID: id('EndpointID'), SandboxKey: text, Options: anyMap }),
  ExternalConnectivity: v.looseObject({ NetworkID: id('NetworkID'), EndpointID: id('EndpointID'), Options: anyMap }),
  RequestPool: v.looseObject({ AddressSpace: text, Pool: text, SubPool: text, Options: stringMap, V6: v.nullish(v.boolean(), false) }),
  ReleasePool: v.looseObject({ PoolID: id('PoolID') }),
  RequestAddress: v.looseObject({ PoolID: id('PoolID'), Address: text, Options: stringMap }),
  ReleaseAddress: v.looseObject({ PoolID: id('PoolID'), Address: id('Address') }),
} as const;

export type CreateNetworkRequest = v.InferOutput<typeof schemas.CreateNetwork>;
export type CreateEndpointRequest = v.InferOutput<typeof schemas.CreateEndpoint>;
export type JoinRequest = v.InferOutput<typeof schemas.Join>;
export type ExternalConnectivityRequest = v.InferOutput<typeof schemas.ExternalConnectivity>;
export type RequestPoolRequest = v.InferOutput<typeof schemas.RequestPool>;
export type RequestAddressRequest = v.InferOutput<typeof schemas.RequestAddress>;
export type ReleaseAddressRequest = v.InferOutput<typeof schemas.ReleaseAddress>;

/** The body as the method's request, or a 400 naming the first problems. */
export function parseRequest<S extends v.GenericSchema>(method: string, schema: S, body: unknown): v.InferOutput<S> {
  const r = v.safeParse(schema, body ?? {});
  if (r.success) return r.output;
  const problems = r.issues.slice(0, 3).map((issue) => {
    const path = v.getDotPath(issue);
    // valibot words a missing key as 'Invalid key: Expected "x" but received undefined'.
    if (path && issue.input === undefined) return `${path} is required`;
    return path && !issue.message.startsWith(path) ? `${path}: ${issue.message}` : issue.message;
  });
  throw badRequest(`${method}: malformed request: ${problems.join('; ')}`);
}

export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes: Array<{ Destination: string; RouteType: number; NextHop?: string }>;
  DisableGatewayService: boolean;
}
