// Where names the responder does not own are sent: server addresses ("1.2.3.4", "1.2.3.4:5353",
// "fd00::53", "[fd00::53]:5353") and the host's resolvers from resolv.conf. Loopback resolvers
// (systemd-resolved's 127.0.0.53, a local dnsmasq) are skipped there: the same list goes into
// containers on the default bridge, where loopback is the container's own, and the responder's
// upstreams are kept to what a container could also reach.
import { existsSync, readFileSync } from 'node:fs';
import type { DNS } from '../cni/types.js';
import { formatAddr, parseAddr } from '../ip/address.js';
import { parseResolvConf } from '../ipam/resolv.js';

export interface Server {
  /** Canonical address text. */
  address: string;
  port: number;
}

export const DNS_PORT = 53;
export const HOST_RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's list of the real upstreams, behind its 127.0.0.53 stub (what Docker reads then). */
export const SYSTEMD_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

/** Parses "ADDR", "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6); a bare IPv6 address has no port. */
export function parseServer(text: string, defaultPort = DNS_PORT): Server {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4WithPort = /^([\d.]+):(\d+)$/.exec(text);
  const [addressText, portText] = bracketed ? [bracketed[1], bracketed[2]] : v4WithPort ? [v4WithPort[1], v4WithPort[2]] : [text, undefined];
  const addr = parseAddr(addressText ?? '');
  if (!addr) throw new Error(`invalid DNS server ${JSON.stringify(text)}: expected an IP address, optionally with a port (1.2.3.4:53, [fd00::1]:53)`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid DNS server ${JSON.stringify(text)}: port must be 1-65535`);
  return { address: formatAddr(addr), port };
}

export const formatServer = (s: Server): string => (s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`);

/** 127.0.0.0/8 and ::1: addresses that mean "this namespace". */
export function isLoopback(address: string): boolean {
  const addr = parseAddr(address);
  return addr !== undefined && (addr.family === 4 ? addr.value >> 24n === 127n : addr.value === 1n);
}

/** The usable resolvers of a resolv.conf: loopback ones and unparsable ones (zone ids) land in `skipped`. */
export function usableNameservers(dns: DNS): { servers: Server[]; skipped: string[] } {
  const servers: Server[] = [];
  const skipped: string[] = [];
  for (const ns of dns.nameservers ?? []) {
    const addr = parseAddr(ns);
    if (!addr || isLoopback(ns)) skipped.push(ns);
    else servers.push({ address: formatAddr(addr), port: DNS_PORT });
  }
  return { servers, skipped };
}

/**
 * The host's resolver configuration as containers should see it: /etc/resolv.conf, unless it
 * lists only loopback resolvers and systemd-resolved's upstream list exists (Docker does the same).
 * A missing file reads as empty.
 */
export function hostResolvConf(paths: { main?: string; systemd?: string } = {}): { dns: DNS; path: string } {
  const main = paths.main ?? HOST_RESOLV_CONF;
  const systemd = paths.systemd ?? SYSTEMD_RESOLV_CONF;
  const read = (path: string): DNS => {
    try {
      return parseResolvConf(readFileSync(path, 'utf8'));
    } catch {
      return {};
    }
  };
  const dns = read(main);
  const nameservers = dns.nameservers ?? [];
  if (nameservers.length > 0 && nameservers.every(isLoopback) && existsSync(systemd)) return { dns: read(systemd), path: systemd };
  return { dns, path: main };
}
