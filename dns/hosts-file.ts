// A container's /etc/hosts and /etc/hostname, as Docker writes them, and `--add-host` values.
// Pure: the engine writes the text into the container's private files.
import { formatAddr, parseAddr } from '../ip/address.js';

/** `--add-host NAME:host-gateway`: the caller substitutes the host's address on the container's network. */
export const HOST_GATEWAY = 'host-gateway';

export interface ExtraHost {
  name: string;
  /** Canonical IP address, or HOST_GATEWAY until the caller resolves it (resolveHostGateway). */
  address: string;
}

/** The kernel's limit on a UTS hostname (HOST_NAME_MAX). */
export const MAX_HOSTNAME_LENGTH = 64;

const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A hostname: dot-separated labels of letters, digits, '-' and '_' (no '-' at either end), at most 64 characters. */
export function validateHostname(name: string, what = 'hostname'): void {
  const fail = (why: string) => new Error(`invalid ${what} ${JSON.stringify(name)}: ${why}`);
  if (name === '') throw fail('it is empty');
  if (name.length > MAX_HOSTNAME_LENGTH) throw fail(`at most ${MAX_HOSTNAME_LENGTH} characters`);
  if (!name.split('.').every((l) => LABEL.test(l))) throw fail("use letters, digits, '-' and '_' in dot-separated labels, no '-' at either end of a label");
}

/**
 * Parses an `--add-host` value: NAME:ADDRESS or NAME=ADDRESS (Docker accepts both), where the
 * address may be IPv6 (`db:fd00::5`, only the first separator splits), bracketed IPv6
 * (`db=[fd00::5]`), or `host-gateway`.
 */
export function parseAddHost(value: string): ExtraHost {
  const fail = (why: string) => new Error(`invalid --add-host ${JSON.stringify(value)}: ${why}`);
  const sep = value.includes('=') ? '=' : ':';
  const at = value.indexOf(sep);
  if (at < 0) throw fail('expected NAME:ADDRESS (e.g. db:10.0.0.5, db:fd00::5, gw:host-gateway)');
  const name = value.slice(0, at);
  let address = value.slice(at + 1);
  if (name === '') throw fail('the name is empty');
  if (name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) throw fail(`${JSON.stringify(name)} is not a host name`);
  if (address === HOST_GATEWAY) return { name, address };
  if (/^\[.*\]$/.test(address)) address = address.slice(1, -1);
  const addr = parseAddr(address);
  if (!addr) throw fail(`${JSON.stringify(address)} is not an IP address or "${HOST_GATEWAY}"`);
  return { name, address: formatAddr(addr) };
}

/** Replaces each host-gateway entry by one entry per gateway address (IPv4 and IPv6 on a dual-stack network). */
export function resolveHostGateway(hosts: readonly ExtraHost[], gateway: readonly string[]): ExtraHost[] {
  return hosts.flatMap((h) => (h.address === HOST_GATEWAY ? gateway.map((address) => ({ name: h.name, address })) : [h]));
}

export interface HostsFileOptions {
  hostname: string;
  /** `--domainname`: the own entry lists hostname.domainname first. */
  domainname?: string;
  /** The container's own addresses (none with --network none). */
  addresses: readonly string[];
  /** More names for the own addresses (e.g. the container name when it differs from the hostname). */
  aliases?: readonly string[];
  /** `--add-host` entries, host-gateway already resolved. */
  extraHosts?: readonly ExtraHost[];
  /** The IPv6 localhost entries; Docker leaves them out of a container without IPv6. Default true. */
  ipv6?: boolean;
}

const LOCALHOST_V4 = ['127.0.0.1\tlocalhost'];
const LOCALHOST_V6 = ['::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

/** /etc/hosts in Docker's order: localhost entries, then --add-host entries, then the container's own addresses. */
export function hostsFile(opts: HostsFileOptions): string {
  validateHostname(opts.hostname);
  const extra = opts.extraHosts ?? [];
  const unresolved = extra.find((h) => h.address === HOST_GATEWAY);
  if (unresolved) throw new Error(`--add-host ${unresolved.name}:${HOST_GATEWAY} must be resolved first (resolveHostGateway)`);
  const fqdn = opts.domainname ? `${opts.hostname}.${opts.domainname}` : undefined;
  const ownNames = [...new Set([...(fqdn ? [fqdn] : []), opts.hostname, ...(opts.aliases ?? [])])].join(' ');
  const lines = [
    ...LOCALHOST_V4,
    ...(opts.ipv6 === false ? [] : LOCALHOST_V6),
    ...extra.map((h) => `${h.address}\t${h.name}`),
    ...opts.addresses.map((a) => `${a}\t${ownNames}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function hostnameFile(hostname: string): string {
  validateHostname(hostname);
  return `${hostname}\n`;
}
