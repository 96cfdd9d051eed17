// Docker's `-p` / `--publish` grammar: [hostIP:][hostPort[-end]:]containerPort[-end][/proto].
// The parse follows go-connections' nat.ParsePortSpec (the code behind `docker run -p`): the same
// splitting on ':', the same checks in the same order and the same error wording, so a spec Docker
// accepts means the same here and a spec Docker refuses fails with the message a Docker user knows.
// Two deliberate differences, both where Docker's parser is lax: a range with more than one '-'
// ("80-90-100") is refused instead of silently truncated, and a container port of 0 is refused
// (Docker only fails on it later, at container start). A host port of 0 means "allocate one", as
// in Docker.
import { isIP } from 'node:net';

export type Protocol = 'tcp' | 'udp' | 'sctp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** One published container port. */
export interface PortMapping {
  /** '' when the spec names no address (bind every address); IPv6 without brackets. */
  hostIP: string;
  /** 0 (with hostPortEnd 0) when the host port is to be allocated from the ephemeral range. */
  hostPort: number;
  /** Equal to hostPort unless the engine is to pick one free port of hostPort..hostPortEnd. */
  hostPortEnd: number;
  containerPort: number;
  protocol: Protocol;
}

interface PortRange {
  start: number;
  end: number;
}

const MAX_PORT = 65535;

/** "80" or "80-90" (decimal, leading zeros allowed as Go's ParseUint does); undefined when malformed. */
function parseRange(text: string): PortRange | undefined {
  const parts = text.split('-');
  if (parts.length > 2 || !parts.every((p) => /^\d+$/.test(p))) return undefined;
  const [start, end = start] = parts.map(Number) as [number, number?];
  if (start > MAX_PORT || end > MAX_PORT || end < start) return undefined;
  return { start, end };
}

/** Splits on ':' from the right: the last part is the container port, the one before it the host port, the rest the address. */
function splitParts(spec: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = spec.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', hostPort: '', containerPort: parts[0]! };
  if (n === 2) return { ip: '', hostPort: parts[0]!, containerPort: parts[1]! };
  return { ip: parts.slice(0, n - 2).join(':'), hostPort: parts[n - 2]!, containerPort: parts[n - 1]! };
}

/** The host address without brackets; throws Docker's "invalid IP address" errors. */
function parseHostIP(ip: string): string {
  let bare = ip;
  if (ip.startsWith('[')) {
    const close = ip.indexOf(']');
    if (close < 0) throw new Error(`invalid IP address ${ip}: missing ']' in address`);
    if (close !== ip.length - 1) throw new Error(`invalid IP address ${ip}: unexpected characters after ']'`);
    bare = ip.slice(1, close);
  }
  // Go's net.ParseIP takes no zone ("fe80::1%eth0"); node's isIP would.
  if (bare !== '' && (isIP(bare) === 0 || bare.includes('%'))) throw new Error(`invalid IP address: ${bare}`);
  return bare;
}

/**
 * Parses one `-p` spec into one mapping per container port ("80-90" gives 11). Throws an Error
 * with Docker's wording for an invalid spec.
 */
export function parsePublishSpec(spec: string): PortMapping[] {
  const parts = splitParts(spec);
  const slash = parts.containerPort.indexOf('/');
  const containerText = slash < 0 ? parts.containerPort : parts.containerPort.slice(0, slash);
  if (containerText === '') throw new Error(`no port specified: ${spec}<empty>`);
  const protocol = (slash < 0 || slash === parts.containerPort.length - 1 ? 'tcp' : parts.containerPort.slice(slash + 1)).toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new Error(`invalid proto: ${protocol}`);
  const hostIP = parts.ip === '' ? '' : parseHostIP(parts.ip);

  const container = parseRange(containerText);
  if (!container || container.start === 0) throw new Error(`invalid containerPort: ${containerText}`);

  let host: PortRange = { start: 0, end: 0 };
  if (parts.hostPort !== '') {
    const parsed = parseRange(parts.hostPort);
    // 0 alone asks for an allocated port; inside a range it is no port at all.
    if (!parsed || (parsed.start === 0 && parsed.end !== 0)) throw new Error(`invalid hostPort: ${parts.hostPort}`);
    host = parsed;
    // A host range of another length is allowed only for a single container port: the engine picks one port of it.
    if (host.end - host.start !== container.end - container.start && container.end !== container.start) {
      throw new Error(`invalid ranges specified for container and host Ports: ${containerText} and ${parts.hostPort}`);
    }
  }

  const count = container.end - container.start + 1;
  const mappings: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    const single = count === 1;
    const hostPort = host.start === 0 ? 0 : host.start + i;
    const hostPortEnd = host.start === 0 ? 0 : single ? host.end : hostPort;
    mappings.push({ hostIP, hostPort, hostPortEnd, containerPort: container.start + i, protocol: protocol as Protocol });
  }
  return mappings;
}
