// The seam between callers (the bridge and portmap plugins, the Docker driver) and a firewall
// implementation, in the spirit of netavark's FirewallDriver. iptables is the one implementation
// today; an nftables backend implements the same interface.
import type { AttachmentRef, ContainerSpec, Family, ValidAttachment } from './types.js';

/** What a network needs before its first attachment (all optional: setupContainer ensures the same lazily). */
export interface NetworkSpec {
  network: string;
  /** The bridge: route_localnet is turned on for it, so published ports answer on 127.0.0.1. */
  bridge?: string;
  /** Default: both. */
  families?: Family[];
  markMasqBit?: number;
}

export interface FirewallBackend {
  readonly name: string;
  /** Creates the shared chains and jumps up front (idempotent); optional, setupContainer does it on demand. */
  setupNetwork(network: NetworkSpec): Promise<void>;
  /** Removes the rules and port reservations of every attachment of the network (of one owner, if given). */
  teardownNetwork(network: { network: string; owner?: string }): Promise<void>;
  /**
   * Installs one attachment's rules (published ports, masquerade, forwarding, isolation), one
   * transaction per family and table, after reserving its host ports (CniError 102 on a conflict).
   * Re-running it for the same attachment replaces what it had.
   */
  setupContainer(spec: ContainerSpec): Promise<void>;
  /**
   * Removes what setupContainer installed, from the recorded state; succeeds when nothing is left.
   * With sweepUnrecorded, an attachment without a record (its state dir was lost or another one
   * was used) is looked for by its rules' tags instead (one iptables-save per family).
   */
  teardownContainer(ref: AttachmentRef, opts?: { sweepUnrecorded?: boolean }): Promise<void>;
  /** Verifies the attachment's rules and reservations are in place (CniError 105 naming what is not). */
  checkContainer(spec: ContainerSpec): Promise<void>;
  /** Removes the rules and reservations of the network's attachments that are not in `valid`. */
  gc(network: string, valid: readonly ValidAttachment[], opts?: { owner?: string }): Promise<void>;
}
