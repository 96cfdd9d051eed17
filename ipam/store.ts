// The on-disk IPAM store, in the reference host-local layout so both plugins can share a data dir:
//
//   <dataDir>/<network>/lock                   flock'd for every read-modify-write (lock.ts)
//   <dataDir>/<network>/<address>              one per reservation: "<containerID>\r\n<ifname>"
//   <dataDir>/<network>/last_reserved_ip.<i>   the round-robin cursor of range set i
//
// Everything here runs synchronously while the lock is held: the critical section is a handful of
// small file operations, and no other code can interleave with it.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { removeFile } from '../cni/files.js';
import { type IpAddr, formatAddr, parseAddr } from '../ip/address.js';
import { acquireLock } from '../lock/flock.js';
import { readFiles } from '../native/index.js';
import { lockTimeoutMs } from './lock.js';
import { type Owner, parseOwner, serializeOwner } from './owner.js';

const LOCK_FILE = 'lock';
const LAST_RESERVED_PREFIX = 'last_reserved_ip.';
/**
 * Files are written under a temporary name and then linked or renamed into place, so a crash
 * never leaves a half-written file under a real name. The dot keeps the reference plugin from
 * parsing it as an address; any such file seen while holding the lock is a crash's leftover.
 */
const TEMP_PREFIX = '.ctnet-tmp-';
let tempCounter = 0;

export interface Reservation {
  address: IpAddr;
  /** Canonical text of the address, the key of the allocator's view. */
  text: string;
  /** The file's name as found (the canonical text, unless another writer spelled it otherwise). */
  file: string;
  owner: Owner;
}

const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** One network's store, to be used only inside withStore (i.e. while holding its lock). */
export class LockedStore {
  constructor(readonly dir: string) {}

  /**
   * Every valid reservation. Empty files (a writer that crashed before writing) count as free; the
   * temporary files of crashed writers, seen in the same listing, are removed.
   */
  reservations(): Reservation[] {
    const out: Reservation[] = [];
    // Every ADD reads them all (a duplicate ADD must fail): one native call, ~5 ms sooner at 500.
    const files = readFiles(this.dir);
    for (let i = 0; i < files.length; i += 2) {
      const name = files[i]!;
      const content = files[i + 1]!;
      // Temporary files only exist under the lock, which this process holds: these are leftovers.
      if (name.startsWith(TEMP_PREFIX)) removeFile(join(this.dir, name));
      const address = parseAddr(name);
      if (!address) continue; // lock, last_reserved_ip.*, temp files and anything unrelated
      const owner = parseOwner(content);
      // A dotted quad that parses is canonical (ip/address.ts); IPv6 may be spelled otherwise.
      if (owner) out.push({ address, text: address.family === 4 ? name : formatAddr(address), file: name, owner });
    }
    return out;
  }

  /** The reservation of `address` under its canonical file name, if any: one file read, not all of them. */
  reservationOf(address: IpAddr): Reservation | undefined {
    const text = formatAddr(address);
    const owner = this.ownerIn(text);
    return owner ? { address, text, file: text, owner } : undefined;
  }

  /**
   * Records `owner` as the holder of `address`; false if someone already holds it. The file is
   * created exclusively with its content, as the reference does it: a writer that crashes between
   * the two leaves an empty file, which holds nothing (reservations() skips it, the next reserve
   * replaces it). Only holders of the lock read these files, so no one sees one half-written.
   */
  reserve(address: IpAddr, owner: Owner): boolean {
    const name = formatAddr(address);
    // A crashed writer's empty file does not hold the address: it is replaced.
    return createReplacing(join(this.dir, name), serializeOwner(owner), 0o600, () => this.ownerIn(name) === undefined);
  }

  release(r: Pick<Reservation, 'file'>): void {
    removeFile(join(this.dir, r.file));
  }

  /** The round-robin cursor of range set `setIndex`; undefined when missing or unreadable. */
  lastReserved(setIndex: number): IpAddr | undefined {
    try {
      return parseAddr(readFileSync(join(this.dir, LAST_RESERVED_PREFIX + setIndex), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  setLastReserved(setIndex: number, address: IpAddr): void {
    // In place and without a trailing newline, as the reference writes it (it parses the whole
    // content as the address): only holders of the lock read it, and a crash's torn write reads as
    // no cursor. Rewriting the file spares a new inode on every ADD.
    writeFileSync(join(this.dir, LAST_RESERVED_PREFIX + setIndex), formatAddr(address), { mode: 0o644 });
  }

  /** Proves the directory takes new files (STATUS): root ignores permission bits, so ask the kernel. */
  probeWritable(): void {
    unlinkSync(this.writeTemp('', 0o600));
  }

  private ownerIn(name: string): Owner | undefined {
    try {
      // No path.join: a file name from formatAddr needs no normalization.
      return parseOwner(readFileSync(`${this.dir}/${name}`, 'utf8'));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  private writeTemp(content: string, mode: number): string {
    // Unique without randomness: writers hold the lock and a pid names one live process, so a file
    // of this name is a dead process's leftover (reservations() sweeps the others).
    const temp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${++tempCounter}`);
    createReplacing(temp, content, mode, () => true);
    return temp;
  }
}

/**
 * Creates `path` holding `content`, exclusively; an existing file is replaced when `replaceable`
 * says it holds nothing, else the answer is false. A failure after the creation (a full disk)
 * removes the file again.
 */
function createReplacing(path: string, content: string, mode: number, replaceable: () => boolean): boolean {
  const create = () => {
    try {
      writeFileSync(path, content, { mode, flag: 'wx' });
    } catch (err) {
      // Any failure but EEXIST came after this process created the file, or before anything was.
      if (errnoOf(err) !== 'EEXIST') removeFile(path);
      throw err;
    }
  };
  try {
    create();
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
    if (!replaceable()) return false;
    removeFile(path);
    create();
  }
  return true;
}

export const networkDir = (dataDir: string, network: string): string => join(dataDir, network);

export interface StoreOptions {
  lockTimeoutMs?: number;
}

/**
 * Runs `fn` on the network's store while holding its lock; creates the directory on first use.
 * File system failures become CniError code 5 (I/O failure) naming the store.
 */
export async function withStore<T>(dataDir: string, network: string, fn: (store: LockedStore) => T, options: StoreOptions = {}): Promise<T> {
  const dir = networkDir(dataDir, network);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const lock = await acquireLock(join(dir, LOCK_FILE), { timeoutMs: options.lockTimeoutMs ?? lockTimeoutMs(), what: 'the IPAM store' });
    try {
      return fn(new LockedStore(dir));
    } finally {
      lock.release();
    }
  } catch (err) {
    if (err instanceof CniError || !errnoOf(err)) throw err;
    throw new CniError(ErrorCode.IOFailure, `IPAM store ${dir}: ${(err as Error).message}`, `errno ${errnoOf(err)}`);
  }
}
