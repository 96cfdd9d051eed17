// The attachment cache in libcni's on-disk layout, so ctnet and libcni-based runtimes read each
// other's records: `<cacheDir>/results/<network>-<containerID>-<ifname>` holding
// {kind: "cniCacheV1", containerId, config, ifName, networkName, netns, cniArgs, capabilityArgs, result}.
// `config` is the list's source text as base64 (Go marshals []byte that way) and `result` the ADD
// result on the wire. Teardown depends on these records, not on what still exists in the kernel.
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const CACHE_KIND = 'cniCacheV1';

/** What is cached for one attachment (the JSON field names are libcni's). */
export interface CacheEntry {
  kind: typeof CACHE_KIND;
  containerId: string;
  /** The network config list's source text, base64. */
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: Record<string, unknown>;
  /** The ADD result as printed on the wire (with its cniVersion). */
  result?: Record<string, unknown>;
}

export interface AttachmentKey {
  network: string;
  containerId: string;
  ifname: string;
}

export class ResultCache {
  constructor(readonly dir: string = DEFAULT_CACHE_DIR) {}

  get resultsDir(): string {
    return join(this.dir, 'results');
  }

  path(key: AttachmentKey): string {
    if (!key.network || !key.containerId || !key.ifname) {
      throw new Error(`a cache record needs a network name (${JSON.stringify(key.network)}), container id (${JSON.stringify(key.containerId)}) and interface name (${JSON.stringify(key.ifname)})`);
    }
    return join(this.resultsDir, `${key.network}-${key.containerId}-${key.ifname}`);
  }

  /** Writes a record atomically (a crash leaves the old record or the new one, never half of one). */
  async write(entry: CacheEntry): Promise<void> {
    const file = this.path({ network: entry.networkName, containerId: entry.containerId, ifname: entry.ifName });
    await mkdir(this.resultsDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, file);
  }

  /**
   * The raw record, undefined when there is none. A file that is not JSON throws; one of another
   * kind is returned as is (libcni's legacy layout held the bare result), for the caller to judge.
   */
  async read(key: AttachmentKey): Promise<Record<string, unknown> | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const raw: unknown = JSON.parse(text);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`cache record ${this.path(key)} is not a JSON object`);
    return raw as Record<string, unknown>;
  }

  async remove(key: AttachmentKey): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  /** Every valid cniCacheV1 record (of one container, when given), in file-name order; unreadable files are skipped, as libcni does. */
  async list(containerId?: string): Promise<CacheEntry[]> {
    let names: string[];
    try {
      names = (await readdir(this.resultsDir)).filter((n) => !n.includes('.tmp-')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries: CacheEntry[] = [];
    for (const name of names) {
      if (containerId && !name.includes(`-${containerId}-`)) continue;
      try {
        const raw = JSON.parse(await readFile(join(this.resultsDir, name), 'utf8')) as Partial<CacheEntry>;
        if (raw.kind !== CACHE_KIND || !raw.ifName || !raw.networkName || typeof raw.containerId !== 'string') continue;
        if (containerId && raw.containerId !== containerId) continue;
        entries.push(raw as CacheEntry);
      } catch {
        // unreadable or not JSON: not an attachment record
      }
    }
    return entries;
  }
}

/** Go's []byte JSON encoding. */
export const encodeConfig = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
export const decodeConfig = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');
