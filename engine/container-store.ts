// Container records: `<root>/containers/<id>/config.json`, with the container's generated files
// (hosts, resolv.conf, hostname, log) beside it. A record is written before anything is set up
// ("creating"), so that whatever a killed command leaves behind has a record `rm` can tear down
// from; attachments themselves are recorded by the CNI result cache. Writers hold the engine lock;
// files are replaced atomically, so readers without it see the old record or the new one.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Protocol } from './publish-spec.js';
import { recordedExit } from './processes.js';

/** A published port, host port resolved. */
export interface PublishedPort {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

/** One interface of the container on a network. */
export interface ContainerAttachment {
  network: string;
  networkId: string;
  ifname: string;
  aliases: string[];
  /** Addresses in CIDR notation, as the plugin returned them. */
  addresses: string[];
  gateways: string[];
  mac?: string;
}

/** How the container gets its network: its own namespace (bridge networks or none), the host's, or another container's. */
export type NetworkMode = { kind: 'bridge' } | { kind: 'none' } | { kind: 'host' } | { kind: 'container'; id: string };

export interface ContainerRecord {
  id: string;
  name: string;
  /** RFC 3339. */
  created: string;
  /** "creating" until `run` has set everything up; a record left in it was abandoned by a killed command. */
  state: 'creating' | 'created';
  command: string[];
  mode: NetworkMode;
  /** Its own namespace file (bridge and none modes). */
  netns?: string;
  attachments: ContainerAttachment[];
  ports: PublishedPort[];
  hostname: string;
  dns: { servers: string[]; search: string[]; options: string[] };
  extraHosts: Array<{ name: string; address: string }>;
  /** The process, once started; startTime (from /proc/PID/stat) tells it from a later process with the same pid. */
  pid?: number;
  startTime?: string;
  /** How the process ended: from `ctnet run` when it waited, from the monitor's exit file with -d. */
  exitCode?: number;
}

export const newContainerId = (): string => randomBytes(32).toString('hex');
export const shortId = (id: string): string => id.slice(0, 12);

/** Docker's container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+. */
export function validateContainerName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name) || name.length > 128) {
    throw new Error(`invalid container name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 128 characters`);
  }
}

export class ContainerStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'containers');
  }

  dirOf(id: string): string {
    return join(this.dir, id);
  }

  /** Where ctnet-monitor writes a detached process's exit status. */
  exitFileOf(id: string): string {
    return join(this.dirOf(id), 'exit-code');
  }

  async list(): Promise<ContainerRecord[]> {
    let ids: string[];
    try {
      ids = (await readdir(this.dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const records: ContainerRecord[] = [];
    for (const id of ids) {
      try {
        const record = JSON.parse(await readFile(join(this.dir, id, 'config.json'), 'utf8')) as ContainerRecord;
        record.exitCode ??= recordedExit(this.exitFileOf(id));
        records.push(record);
      } catch {
        // A directory whose record was never written (killed before it): nothing was set up for it yet.
      }
    }
    return records.sort((a, b) => a.created.localeCompare(b.created));
  }

  /** A container by name, full id or unique id prefix (Docker's lookup order). */
  async find(ref: string): Promise<ContainerRecord | undefined> {
    if (!ref) return undefined;
    const all = await this.list();
    const exact = all.find((c) => c.name === ref) ?? all.find((c) => c.id === ref);
    if (exact) return exact;
    const byPrefix = all.filter((c) => c.id.startsWith(ref));
    if (byPrefix.length > 1) throw new Error(`multiple containers found with id prefix ${ref}`);
    return byPrefix[0];
  }

  async get(ref: string): Promise<ContainerRecord> {
    const c = await this.find(ref);
    if (!c) throw new Error(`No such container: ${ref}`);
    return c;
  }

  async write(record: ContainerRecord): Promise<void> {
    const dir = this.dirOf(record.id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'config.json');
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }

  async remove(id: string): Promise<void> {
    await rm(this.dirOf(id), { recursive: true, force: true });
  }
}
