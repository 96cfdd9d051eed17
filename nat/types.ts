// The vocabulary of ctnet's firewall layer, shared by the rule generators, the stores and the
// backends. Nothing here knows iptables.
import type { Family } from '../ip/address.js';

export type { Family };
export type Protocol = 'tcp' | 'udp' | 'sctp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** A port publication as callers write it: one CNI `portMappings` entry, optionally a range. */
export interface PortMappingInput {
  hostPort: number;
  containerPort: number;
  /** tcp (default), udp or sctp; case-insensitive. */
  protocol?: string;
  /** '' or absent: every local address of each family the container has; 0.0.0.0 / :: every local address of that family only. */
  hostIP?: string;
  /** Last host port of a range (Docker's HostPortEnd); the container range has the same length. */
  hostPortEnd?: number;
  /** Last container port of a range; when given it must match the host range's length. */
  containerPortEnd?: number;
}

/** A validated mapping: a host port range onto a container port range of the same length. */
export interface PortMapping {
  protocol: Protocol;
  /** '' (every family) or a canonical address (0.0.0.0 and :: included). */
  hostIP: string;
  hostPort: number;
  hostPortEnd: number;
  containerPort: number;
}

/** A mapping as it applies to one address family of the container. */
export interface FamilyMapping extends PortMapping {
  family: Family;
  /** The host address the port is published on: a specific address, or 0.0.0.0 / :: for every one. */
  bindIP: string;
  wildcard: boolean;
}

/** Who made an attachment's rules: the plugin (or caller) that owns them, plus the CNI identity. */
export interface AttachmentRef {
  network: string;
  containerId: string;
  ifname: string;
  /**
   * The rule owner, so several plugins of one chain (bridge with ipMasq, a chained portmap, the
   * firewall plugin) keep separate rules and records for one attachment. Lower-case letters, digits
   * and '-'; default 'ctnet'.
   */
  owner?: string;
}

/** Options of published-port NAT, with the reference portmap plugin's meaning. */
export interface SnatOptions {
  /** Masquerade hairpin and localhost connections to published ports (default true). */
  snat?: boolean;
  /** Masquerade every connection to a published port, not only hairpin ones (default false). */
  masqAll?: boolean;
  /** The packet-mark bit that asks for masquerade (default 13). */
  markMasqBit?: number;
  /** Jump to this chain to request masquerade instead of setting the mark bit (e.g. KUBE-MARK-MASQ). */
  externalSetMarkChain?: string;
  /** Extra iptables match arguments on the DNAT entry rules, one argument per element. */
  conditionsV4?: string[];
  conditionsV6?: string[];
}

/**
 * Which FORWARD accept rules the attachment gets, so a DROP policy (Docker sets one) does not cut
 * it off: 'none'; 'ports' accepts new connections to published ports and their replies only;
 * 'all' also accepts the container's own traffic out of the bridge and return traffic to it.
 */
export type ForwardMode = 'none' | 'ports' | 'all';

/** Everything one attachment needs from the firewall; each part is optional. */
export interface ContainerSpec extends AttachmentRef {
  /**
   * The host-side interface the container's traffic passes (the bridge, or a ptp veth). Needed for
   * masquerade, forward rules and localhost publishing (route_localnet is set on it).
   */
  bridge?: string;
  /** The container's addresses in CIDR notation (address/prefix of its subnet). */
  ips: string[];
  portMappings?: PortMappingInput[];
  /** Masquerade the container's traffic leaving through another interface (the bridge's ipMasq). */
  masquerade?: boolean;
  /** Default 'ports'. */
  forward?: ForwardMode;
  /** Inter-container traffic on the bridge (default true); false drops it, published ports excepted. */
  icc?: boolean;
  /** Docker's --internal: traffic never crosses the bridge's boundary. */
  internal?: boolean;
  /**
   * Docker's isolation between bridge networks: traffic between this container and a container of
   * another network that sets this too is dropped (published ports excepted).
   */
  isolateNetworks?: boolean;
  nat?: SnatOptions;
}

/** A runtime's valid attachment (CNI GC's cni.dev/valid-attachments). */
export interface ValidAttachment {
  containerID: string;
  ifname: string;
}
