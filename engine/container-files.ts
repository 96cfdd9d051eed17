// What a container process sees besides its network: its own /etc/hosts, /etc/resolv.conf and
// /etc/hostname, and its hostname. They are generated into the container's directory and
// bind-mounted over the host's files inside a private mount + UTS namespace (unshare), so the
// host's files and hostname never change. `--network host` keeps the host's files; `container:X`
// enters X's namespaces and so shares X's files.
import { join } from 'node:path';
import type { DNS } from '../cni/types.js';
import { containerResolvConf, hostsFile } from '../dns/index.js';
import type { ContainerRecord } from './container-store.js';

export interface ContainerFiles {
  hosts: string;
  resolvConf: string;
  hostname: string;
}

export const filePaths = (dir: string): ContainerFiles => ({ hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf'), hostname: join(dir, 'hostname') });

const addressOnly = (cidr: string) => cidr.split('/')[0]!;

/**
 * The files' contents. `responder`: the addresses at which the container reaches the DNS
 * responder (its user networks' gateways); without, resolv.conf points at the upstreams.
 */
export function containerFiles(c: ContainerRecord, opts: { hostDns: DNS; daemonDns?: readonly string[]; responder?: readonly string[] }): { files: ContainerFiles; warnings: string[] } {
  const addresses = c.attachments.flatMap((a) => a.addresses.map(addressOnly));
  const resolv = containerResolvConf({
    host: opts.hostDns,
    ...(opts.responder?.length ? { responder: opts.responder } : {}),
    // --dns wins over daemon.json's dns; on a user network it goes to the responder instead (records).
    dns: c.dns.servers.length ? c.dns.servers : (opts.daemonDns ?? []),
    dnsSearch: c.dns.search,
    dnsOptions: c.dns.options,
  });
  const hosts = hostsFile({
    hostname: c.hostname,
    addresses,
    extraHosts: c.extraHosts,
    ipv6: addresses.some((a) => a.includes(':')),
  });
  return { files: { hosts, resolvConf: resolv.content, hostname: `${c.hostname}\n` }, warnings: resolv.warnings };
}

// Runs as the container's first program, inside its new mount and UTS namespaces: binds the
// generated files over the host's, sets the hostname, then becomes the command (exec keeps the
// pid). Values arrive as positional arguments, never spliced into the script.
const INIT = [
  'mount --bind "$1" /etc/hosts',
  'mount --bind "$2" /etc/resolv.conf',
  '{ [ ! -e /etc/hostname ] || mount --bind "$3" /etc/hostname; }',
  'hostname "$4"',
  'shift 4',
  'exec "$@"',
].join(' && ');

/**
 * The argv that starts a container's command: in its own network namespace with private files,
 * in another container's namespaces (`joinPid`), or as is on the host's network.
 */
export function launchArgv(c: ContainerRecord, files: ContainerFiles, joinPid?: number): string[] {
  switch (c.mode.kind) {
    case 'host':
      return [...c.command];
    case 'container':
      return ['nsenter', `--target=${joinPid}`, '--net', '--mount', '--uts', '--', ...c.command];
    default:
      return ['nsenter', `--net=${c.netns}`, '--', 'unshare', '--mount', '--uts', '--propagation', 'private', '--', '/bin/sh', '-c', INIT, 'ctnet-init', files.hosts, files.resolvConf, files.hostname, c.hostname, ...c.command];
  }
}

/** The argv of `ctnet exec`: a command in the running container's namespaces. */
export const execArgv = (pid: number, command: readonly string[]): string[] => ['nsenter', `--target=${pid}`, '--net', '--mount', '--uts', '--', ...command];
