// What the plugin remembers across restarts (of itself and of dockerd): address pools, networks and
// endpoints, in one JSON file under the state directory. Addresses themselves live in ctnet's IPAM
// store (ipam/store.ts) beside it, one store directory per pool.
//
//   <stateDir>/plugin.lock   flock'd for the plugin's whole life: one plugin process per state dir
//   <stateDir>/state.json    replaced atomically (temporary file, fsync, rename, fsync of the dir)
//   <stateDir>/ipam/<pool>/  the pool's IPAM store (reference host-local layout)
//
// Requests are handled one at a time (update() is a queue), so a request sees the state as the
// previous one left it; a request that fails leaves the file untouched.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { type HeldLock, acquireLock } from '../lock/flock.js';
import type { NetworkSettings } from './options.js';
import type { PortBinding } from './connectivity.js';

export interface PoolRecord {
  id: string;
  addressSpace: string;
  /** "10.1.2.0/24". */
  pool: string;
  /** --ip-range: automatic addresses come from here; explicit ones from the whole pool. */
  subPool: string | undefined;
  v6: boolean;
}

export interface NetworkRecord {
  id: string;
  settings: NetworkSettings;
  /** Whether the plugin created the bridge (and so deletes it with the network). */
  createdBridge: boolean;
  /** On a bridge the user made: its route_localnet before the network turned it on, put back when the network goes. */
  userBridgeLocalnet?: string;
}

export interface EndpointRecord {
  id: string;
  networkId: string;
  /** "10.1.2.5/24", as dockerd gave it. */
  address: string | undefined;
  addressV6: string | undefined;
  mac: string | undefined;
  /** The host end of the veth pair once joined. */
  hostVeth: string | undefined;
  /** The end dockerd moves into the sandbox (its name in the host namespace). */
  srcName: string | undefined;
  sandboxKey: string | undefined;
  /** Published ports as programmed (ProgramExternalConnectivity). */
  ports: PortBinding[];
}

export interface PluginState {
  version: 1;
  /** The /48 ULA prefix automatic IPv6 pools are carved from, chosen at random once. */
  ula: string | undefined;
  pools: Record<string, PoolRecord>;
  networks: Record<string, NetworkRecord>;
  endpoints: Record<string, EndpointRecord>;
}

export const emptyState = (): PluginState => ({ version: 1, ula: undefined, pools: {}, networks: {}, endpoints: {} });

const STATE_FILE = 'state.json';
const LOCK_FILE = 'plugin.lock';

export class StateStore {
  private tail: Promise<unknown> = Promise.resolve();
  private lock: HeldLock | undefined;

  constructor(readonly dir: string) {}

  /** Where the pools' IPAM stores live. */
  get ipamDir(): string {
    return join(this.dir, 'ipam');
  }

  /**
   * Takes the state directory for this process. A second plugin on the same directory would hand out
   * the same addresses: it fails here, with the reason. A killed holder's lock goes with it.
   */
  async open(timeoutMs = 3000): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    try {
      this.lock = await acquireLock(join(this.dir, LOCK_FILE), { timeoutMs, what: 'the Docker plugin state' });
    } catch (err) {
      if (err instanceof CniError && err.code === ErrorCode.TryAgainLater) {
        throw new Error(`another ctnet Docker plugin is using the state directory ${this.dir} (${join(this.dir, LOCK_FILE)} is locked)`);
      }
      throw err;
    }
    this.load(); // fail at start, not at the first request, on an unreadable file
  }

  close(): void {
    this.lock?.release();
    this.lock = undefined;
  }

  /**
   * Runs fn on the current state, one call at a time, and saves what it changed. When fn throws,
   * nothing is saved (fn undoes its own side effects).
   */
  update<T>(fn: (state: PluginState) => T | Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      const state = this.load();
      const before = JSON.stringify(state);
      const out = await fn(state);
      if (JSON.stringify(state) !== before) this.save(state);
      return out;
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** A snapshot, after the requests already queued. */
  read(): Promise<PluginState> {
    return this.update((s) => structuredClone(s));
  }

  private load(): PluginState {
    const path = join(this.dir, STATE_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new Error(`the plugin state ${path} is not valid JSON (${(err as Error).message}); move it away to start from scratch`);
    }
    const s = raw as Partial<PluginState> | null;
    if (!s || typeof s !== 'object' || s.version !== 1) throw new Error(`the plugin state ${path} has an unknown format (expected "version": 1)`);
    return { ...emptyState(), ...s };
  }

  private save(state: PluginState): void {
    const path = join(this.dir, STATE_FILE);
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    syncPath(temp);
    renameSync(temp, path);
    syncPath(this.dir);
  }
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
