// The CNI result model, in its newest (1.1.0) shape. Plugins build these; version.ts converts them
// to and from older wire versions.

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig {
  /** CIDR notation: the address with its subnet's prefix length, e.g. 10.22.0.5/16. */
  address: string;
  gateway?: string;
  /** Index into Result.interfaces. */
  interface?: number;
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** The network configuration every plugin receives on stdin (after conflist expansion by the runtime). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Present only as a declaration in a conflist; runtimes pass the values in runtimeConfig. */
  capabilities?: Record<string, boolean>;
  ipam?: IpamConf;
  dns?: DNS;
  args?: { cni?: Record<string, unknown>; [k: string]: unknown };
  runtimeConfig?: RuntimeConfig;
  prevResult?: Result;
  [key: string]: unknown;
}

export interface IpamConf {
  type: string;
  [key: string]: unknown;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface RuntimeConfig {
  portMappings?: PortMapping[];
  ipRanges?: Array<Array<{ subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }>>;
  ips?: string[];
  mac?: string;
  bandwidth?: Record<string, number>;
  dns?: DNS;
  'cni.dev/valid-attachments'?: Attachment[];
  'cni.dev/attachments'?: Attachment[];
  [key: string]: unknown;
}

/** An attachment named by a GC request's valid list. */
export interface Attachment {
  containerID: string;
  ifname: string;
}
