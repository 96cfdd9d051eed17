// Host ports for published container ports, chosen as Docker does: an empty host port comes from
// the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), a host range gives one
// free port of it, and a port is free when no other container publishes it and no socket holds it.
// Sockets are read from /proc/net/{tcp,tcp6,udp,udp6,sctp/eps}, which describe the network
// namespace of the reading thread, so the check answers for the namespace the engine runs in (or
// for another one, through /proc/<pid>/net of a process inside it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortMapping, Protocol } from './publish-spec.js';

export const EPHEMERAL_RANGE_PATH = '/proc/sys/net/ipv4/ip_local_port_range';

export interface PortBounds {
  start: number;
  end: number;
}

export interface HostPortOptions {
  protocol: Protocol;
  /** Host ports (of this protocol) already published by containers. */
  published?: ReadonlySet<number>;
  /** Only for messages: the address the port is published on ('' or undefined: every address). */
  hostIP?: string;
  /** The /proc/net directory of the namespace to check (default: this process's). */
  procNet?: string;
  /** The ephemeral range file (injectable for tests); like /proc/net it answers for the reading process's namespace. */
  rangePath?: string;
  /** Where the scan of the ephemeral range starts, as a fraction in [0, 1) (default random). */
  random?: () => number;
}

/** The kernel's ephemeral port range ("32768\t60999"). */
export function readEphemeralRange(path = EPHEMERAL_RANGE_PATH): PortBounds {
  const text = readFileSync(path, 'utf8');
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  const start = Number(m?.[1]);
  const end = Number(m?.[2]);
  if (!m || start < 1 || end > 65535 || end < start) throw new Error(`cannot read the ephemeral port range from ${path}: ${JSON.stringify(text.trim())}`);
  return { start, end };
}

const TCP_TIME_WAIT = '06';

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // no such table (IPv6 off, sctp module not loaded): nothing bound there
  }
}

/** Local ports of the sockets in /proc/net/{tcp,udp}{,6} ("sl local_address rem_address st ..."). */
function inetTablePorts(text: string, skipState?: string): number[] {
  const ports: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (!local || cols[3] === skipState) continue;
    const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port)) ports.push(port);
  }
  return ports;
}

/** Local ports of SCTP endpoints (/proc/net/sctp/eps: "ENDPT SOCK STY SST HBKT LPORT ..."). */
function sctpPorts(text: string): number[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => Number(line.trim().split(/\s+/)[5]))
    .filter((p) => Number.isInteger(p) && p > 0);
}

/**
 * Ports that a socket of the protocol holds in the namespace. A TCP socket in TIME_WAIT is not
 * counted: it blocks neither a DNAT rule nor a new listener with SO_REUSEADDR.
 */
export function boundPorts(protocol: Protocol, procNet = '/proc/net'): Set<number> {
  if (protocol === 'sctp') return new Set(sctpPorts(readOptional(join(procNet, 'sctp', 'eps'))));
  const skip = protocol === 'tcp' ? TCP_TIME_WAIT : undefined;
  return new Set([protocol, `${protocol}6`].flatMap((table) => inetTablePorts(readOptional(join(procNet, table)), skip)));
}

const where = (opts: HostPortOptions, port: number) => `${opts.hostIP ? (opts.hostIP.includes(':') ? `[${opts.hostIP}]` : opts.hostIP) : '0.0.0.0'}:${port}`;

/** Why the port cannot be published, or undefined when it is free. */
function conflict(port: number, bound: ReadonlySet<number>, opts: HostPortOptions): string | undefined {
  if (opts.published?.has(port)) return `Bind for ${where(opts, port)} failed: port is already allocated`;
  if (bound.has(port)) return `Bind for ${where(opts, port)} failed: address already in use`;
  return undefined;
}

/** The first free port of start..end (Docker scans a given host range in order). */
export function pickHostPort(start: number, end: number, opts: HostPortOptions): number {
  const bound = boundPorts(opts.protocol, opts.procNet);
  for (let port = start; port <= end; port++) {
    if (!conflict(port, bound, opts)) return port;
  }
  throw new Error(`Bind for ${where(opts, start)}-${end} failed: all ports of the range are allocated or in use`);
}

/**
 * A free port of the ephemeral range. The scan starts at a random point and wraps, so ports freed
 * a moment ago are not handed straight out again.
 */
export function allocateHostPort(opts: HostPortOptions): number {
  const { start, end } = readEphemeralRange(opts.rangePath);
  const size = end - start + 1;
  const first = Math.floor((opts.random ?? Math.random)() * size) % size;
  const bound = boundPorts(opts.protocol, opts.procNet);
  for (let i = 0; i < size; i++) {
    const port = start + ((first + i) % size);
    if (!conflict(port, bound, opts)) return port;
  }
  throw new Error(`all ports are allocated: no free ${opts.protocol} port in the ephemeral range ${start}-${end}`);
}

/**
 * The host port a parsed mapping gets: allocated (0), one free port of a range, or the given port
 * after checking it is free. Throws Docker's "Bind for ... failed" errors.
 */
export function resolveHostPort(mapping: PortMapping, opts: Omit<HostPortOptions, 'protocol' | 'hostIP'> = {}): number {
  const full: HostPortOptions = { ...opts, protocol: mapping.protocol, hostIP: mapping.hostIP };
  if (mapping.hostPort === 0) return allocateHostPort(full);
  if (mapping.hostPortEnd !== mapping.hostPort) return pickHostPort(mapping.hostPort, mapping.hostPortEnd, full);
  const why = conflict(mapping.hostPort, boundPorts(mapping.protocol, opts.procNet), full);
  if (why) throw new Error(why);
  return mapping.hostPort;
}
