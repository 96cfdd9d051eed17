// Connectivity over ctnet's nat/ layer. Each endpoint is two nat/ attachments of its own, told
// apart by owner: its rules for as long as it is joined (masquerade, FORWARD accepts, icc=false,
// --internal and isolation between networks, as Docker's bridge driver has them), and its published
// ports, which ProgramExternalConnectivity and RevokeExternalConnectivity add and remove without
// touching the first. nat/ records both, so teardown and GC work from its records after a restart.
// Host ports are chosen as the engine chooses them (engine/host-ports.ts).
import { CniError, ErrorCode } from '../cni/errors.js';
import { resolveHostPort } from '../engine/host-ports.js';
import { hostIpsOverlap, type AttachmentRef, type ContainerSpec, type FirewallBackend, type ValidAttachment } from '../nat/index.js';
import { type Connectivity, type EndpointId, type EndpointRef, type PortBinding, type PortMapping, PROTOCOL_NUMBERS, type Protocol } from './connectivity.js';

/** nat/ rule owners: an endpoint's own rules, and its published ports. */
export const OWNER = { endpoint: 'docker', ports: 'docker-ports' } as const;
/** nat/ keys attachments by container and interface: here the endpoint id and this fixed name. */
const IFNAME = 'docker';
/** How often host ports are chosen again when another nat/ user (a CNI plugin) holds one already. */
const ALLOCATION_ATTEMPTS = 5;

const attachment = (ep: EndpointId, owner: string): AttachmentRef => ({ network: ep.networkId, containerId: ep.endpointId, ifname: IFNAME, owner });
const valid = (ids: readonly string[]): ValidAttachment[] => ids.map((id) => ({ containerID: id, ifname: IFNAME }));

/** A mapping whose host port is given, not chosen (what a restart re-programs). */
const fixed = (m: PortMapping) => m.hostPort !== 0 && m.hostPortEnd === m.hostPort;

const binding = (m: PortMapping, hostPort: number): PortBinding => ({
  Proto: PROTOCOL_NUMBERS[m.protocol],
  IP: m.containerIp,
  Port: m.containerPort,
  HostIP: m.hostIp,
  HostPort: hostPort,
  HostPortEnd: hostPort,
});

const protocolOf = (b: PortBinding) => (Object.keys(PROTOCOL_NUMBERS) as Protocol[]).find((p) => PROTOCOL_NUMBERS[p] === b.Proto);

/** Host ports for the mappings: given ones checked, 0 and ranges chosen, none of them among `published`. */
function choosePorts(mappings: readonly PortMapping[], published: readonly PortBinding[]): PortBinding[] {
  const out: PortBinding[] = [];
  for (const m of mappings) {
    const taken = new Set(
      [...published, ...out].filter((b) => protocolOf(b) === m.protocol && hostIpsOverlap(b.HostIP, m.hostIp)).flatMap((b) => Array.from({ length: b.HostPortEnd - b.HostPort + 1 }, (_, i) => b.HostPort + i)),
    );
    const port = resolveHostPort({ hostIP: m.hostIp, hostPort: m.hostPort, hostPortEnd: m.hostPortEnd, containerPort: m.containerPort, protocol: m.protocol }, { published: taken });
    out.push(binding(m, port));
  }
  return out;
}

export function natConnectivity(fw: FirewallBackend): Connectivity {
  /** Whether the spec's rules and reservations are all in place (a restart then leaves them alone, not cutting traffic). */
  const intact = (spec: ContainerSpec) =>
    fw.checkContainer(spec).then(
      () => true,
      () => false,
    );

  const portsSpec = (ep: EndpointRef, bindings: readonly PortBinding[]): ContainerSpec => ({
    ...attachment(ep, OWNER.ports),
    bridge: ep.bridge,
    ips: ep.ips,
    portMappings: bindings.map((b) => ({ hostPort: b.HostPort, containerPort: b.Port, protocol: protocolOf(b), hostIP: b.HostIP })),
    forward: 'ports',
  });

  return {
    async setUpNetwork(net) {
      const families = [...new Set(net.subnets.map((s) => (s.includes(':') ? 6 : 4) as 4 | 6))];
      await fw.setupNetwork({ network: net.networkId, bridge: net.bridge, families });
    },

    async tearDownNetwork(net) {
      await fw.teardownNetwork({ network: net.networkId });
    },

    async setUpEndpoint(net, ep) {
      if (ep.ips.length === 0) return;
      const spec: ContainerSpec = {
        ...attachment(ep, OWNER.endpoint),
        bridge: ep.bridge,
        ips: ep.ips,
        masquerade: net.ipMasq && !net.internal,
        forward: 'all',
        icc: net.icc,
        internal: net.internal,
        isolateNetworks: true,
      };
      if (!(await intact(spec))) await fw.setupContainer(spec);
    },

    async tearDownEndpoint(ep) {
      await fw.teardownContainer(attachment(ep, OWNER.ports));
      await fw.teardownContainer(attachment(ep, OWNER.endpoint));
    },

    async setUpExternal(ep, mappings, published) {
      if (mappings.every(fixed)) {
        const bindings = mappings.map((m) => binding(m, m.hostPort));
        if (await intact(portsSpec(ep, bindings))) return bindings;
      }
      const avoid = [...published];
      for (let attempt = 1; ; attempt++) {
        const bindings = choosePorts(mappings, avoid);
        try {
          await fw.setupContainer(portsSpec(ep, bindings));
          return bindings;
        } catch (err) {
          // nat/'s reservations span every ctnet user of its data directory: a port this plugin
          // chose may be held by a CNI container. Choose again around it; a given port stays a conflict.
          const chosen = bindings.filter((_, i) => !fixed(mappings[i]!));
          if (!(err instanceof CniError && err.code === ErrorCode.PortConflict) || chosen.length === 0 || attempt === ALLOCATION_ATTEMPTS) throw err;
          avoid.push(...chosen);
        }
      }
    },

    async tearDownExternal(ep) {
      await fw.teardownContainer(attachment(ep, OWNER.ports));
    },

    async collect(net, live) {
      await fw.gc(net.networkId, valid(live.joined), { owner: OWNER.endpoint });
      await fw.gc(net.networkId, valid(live.publishing), { owner: OWNER.ports });
    },
  };
}
