// Networks on disk: one CNI config list per network, `<root>/networks/<name>.conflist`, so a CNI
// runtime (libcni, or ctnet's own) can be pointed at that directory as it is. ctnet's metadata
// lives in the list's top-level "ctnet" key. Every change is a read-modify-write under one flock
// (`<root>/networks.lock`), so concurrent `ctnet` commands see each other's networks (two creates
// never pick the same subnet or name); files are replaced atomically, so a killed command leaves
// the old file or the new one, and the kernel drops its lock.
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../lock/flock.js';
import { type NetworkConfigList, loadConfFile } from './conflist.js';
import type { ConfListDocument } from './network-config.js';

export const DEFAULT_ROOT = '/var/lib/ctnet';
const EXT = '.conflist';

export interface NetworkStoreOptions {
  /** The engine's state root (default /var/lib/ctnet; the CLI maps --root and CTNET_ROOT here). */
  root?: string;
  /** How long a command waits for another one's lock (default: the lock module's). */
  lockTimeoutMs?: number;
}

function isDocument(raw: unknown): raw is ConfListDocument {
  const r = raw as ConfListDocument | null;
  return !!r && typeof r === 'object' && typeof r.name === 'string' && Array.isArray(r.plugins) && !!r.ctnet && typeof r.ctnet === 'object' && typeof r.ctnet.id === 'string';
}

export class NetworkStore {
  readonly root: string;
  /** The config directory: point a CNI runtime here. */
  readonly dir: string;
  private readonly lockPath: string;

  constructor(private readonly opts: NetworkStoreOptions = {}) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.dir = join(this.root, 'networks');
    this.lockPath = join(this.root, 'networks.lock');
  }

  pathOf(name: string): string {
    return join(this.dir, `${name}${EXT}`);
  }

  /** Every ctnet network, by name. Config lists without ctnet metadata (a user's own) are not listed. */
  async list(): Promise<ConfListDocument[]> {
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((f) => f.endsWith(EXT)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const docs: ConfListDocument[] = [];
    for (const file of files) {
      const doc = await this.readFile(join(this.dir, file));
      if (doc) docs.push(doc);
    }
    return docs;
  }

  /** A network by name, full id or unique id prefix (Docker's lookup order). */
  async get(ref: string): Promise<ConfListDocument | undefined> {
    if (!ref) return undefined;
    const all = await this.list();
    const byName = all.find((d) => d.name === ref) ?? all.find((d) => d.ctnet.id === ref);
    if (byName) return byName;
    const byPrefix = all.filter((d) => d.ctnet.id.startsWith(ref));
    if (byPrefix.length > 1) throw new Error(`network ${ref} is ambiguous (${byPrefix.length} matches found on id prefix)`);
    return byPrefix[0];
  }

  /** Like get, but a missing network is an error (Docker's wording). */
  async resolve(ref: string): Promise<ConfListDocument> {
    const doc = await this.get(ref);
    if (!doc) throw new Error(`network ${ref} not found`);
    return doc;
  }

  /**
   * Creates a network from what `build` returns, given the networks that exist (under the lock,
   * so its choices of name, subnet and bridge cannot race another command's).
   */
  async create(build: (existing: ConfListDocument[]) => ConfListDocument): Promise<ConfListDocument> {
    return this.locked(async () => {
      const doc = build(await this.list());
      // Also refuses to overwrite a config list of that name that ctnet does not manage.
      if (await this.exists(doc.name)) throw new Error(`network with name ${doc.name} already exists`);
      await this.write(doc);
      return doc;
    });
  }

  /** Replaces a network's document with what `change` makes of it (e.g. a new bip for the default bridge). */
  async update(name: string, change: (current: ConfListDocument, existing: ConfListDocument[]) => ConfListDocument): Promise<ConfListDocument> {
    return this.locked(async () => {
      const all = await this.list();
      const current = all.find((d) => d.name === name);
      if (!current) throw new Error(`network ${name} not found`);
      const next = change(current, all);
      if (next.name !== name || next.ctnet.id !== current.ctnet.id) throw new Error(`network ${name}: an update cannot change the name or id`);
      await this.write(next);
      return next;
    });
  }

  /** Removes a network; `guard` runs under the lock and throws to refuse (containers still attached). */
  async remove(name: string, guard?: (doc: ConfListDocument) => void | Promise<void>): Promise<void> {
    await this.locked(async () => {
      const doc = await this.readFile(this.pathOf(name));
      if (!doc) throw new Error(`network ${name} not found`);
      await guard?.(doc);
      await rm(this.pathOf(name), { force: true });
    });
  }

  /** The network as a CNI runtime loads it from this directory (the file's text is what gets cached with attachments). */
  async configList(name: string): Promise<NetworkConfigList> {
    return loadConfFile(this.pathOf(name));
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    return withLock(this.lockPath, fn, this.opts.lockTimeoutMs === undefined ? {} : { timeoutMs: this.opts.lockTimeoutMs });
  }

  private async exists(name: string): Promise<boolean> {
    try {
      await readFile(this.pathOf(name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** A ctnet network file; undefined when missing or not ctnet's. A file that is not JSON is an error naming it. */
  private async readFile(path: string): Promise<ConfListDocument | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new Error(`network config ${path} is not valid JSON (${(err as Error).message}): fix or remove the file`);
    }
    return isDocument(raw) ? raw : undefined;
  }

  private async write(doc: ConfListDocument): Promise<void> {
    const file = this.pathOf(doc.name);
    // The temporary name does not end in .conflist, so no reader ever sees half a file.
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, serialize(doc), { mode: 0o644 });
    await rename(tmp, file);
  }
}

/** Files are for people too: indented, with a final newline. */
const serialize = (doc: ConfListDocument): string => `${JSON.stringify(doc, null, 2)}\n`;
