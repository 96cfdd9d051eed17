// Host port reservations: one file per claim, named by what it claims
// (`<protocol>_<address>_<first>-<last>`, e.g. tcp_0.0.0.0_8080-8080) and holding who claims it.
// A claim that overlaps another attachment's is refused with code 102 instead of silently taking
// the port over. The check-then-create runs under the store's flock, and files are created
// exclusively, so two processes can never both win one port.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { removeFile } from '../cni/files.js';
import { withLock } from '../lock/flock.js';
import { claimsOverlap, conflictMessage, firstSharedPort, formatRange, type PortClaim } from './port-mappings.js';
import { PROTOCOLS, type Protocol } from './types.js';

export interface PortHolder {
  key: string;
  owner: string;
  network: string;
  containerId: string;
  ifname: string;
}

const LOCK = 'lock';

export const claimFileName = (c: PortClaim): string => `${c.protocol}_${c.bindIP}_${c.hostPort}-${c.hostPortEnd}`;

export function parseClaimFileName(name: string): PortClaim | undefined {
  const m = /^([a-z]+)_([0-9a-f.:]+)_(\d+)-(\d+)$/.exec(name);
  if (!m || !PROTOCOLS.includes(m[1] as Protocol)) return undefined;
  return { protocol: m[1] as Protocol, family: m[2]!.includes(':') ? 6 : 4, bindIP: m[2]!, hostPort: Number(m[3]), hostPortEnd: Number(m[4]) };
}

const describeClaim = (c: PortClaim) => `${formatRange(c.hostPort, c.hostPortEnd)}/${c.protocol} on ${c.bindIP}`;

export class PortStore {
  constructor(
    private readonly dir: string,
    private readonly lockTimeoutMs?: number,
  ) {}

  private locked<T>(fn: () => T): Promise<T> {
    mkdirSync(this.dir, { recursive: true });
    return withLock(join(this.dir, LOCK), fn, { timeoutMs: this.lockTimeoutMs, what: 'the host port store' });
  }

  private entries(): Array<{ name: string; claim: PortClaim }> {
    return readdirSync(this.dir).flatMap((name) => {
      const claim = parseClaimFileName(name);
      return claim ? [{ name, claim }] : [];
    });
  }

  private holderOf(name: string): PortHolder | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as PortHolder;
    } catch {
      return undefined;
    }
  }

  /** Claims every port for `holder`, or none: CniError 102 names the first conflict. Claims it already holds are kept. */
  async reserve(holder: PortHolder, claims: readonly PortClaim[]): Promise<void> {
    if (claims.length === 0) return;
    claims.forEach((c, i) => {
      const twin = claims.slice(0, i).find((o) => claimsOverlap(o, c));
      if (twin) throw new CniError(ErrorCode.PortConflict, `port ${firstSharedPort(twin, c)}/${c.protocol} is published twice for this container (${describeClaim(twin)} and ${describeClaim(c)})`);
    });
    await this.locked(() => {
      const existing = this.entries();
      for (const wanted of claims) {
        for (const e of existing) {
          if (!claimsOverlap(wanted, e.claim)) continue;
          const h = this.holderOf(e.name);
          if (h?.key === holder.key) continue;
          const who = h ? `held by container ${h.containerId} (${h.ifname}) of network ${h.network}` : `held by reservation ${e.name}`;
          throw new CniError(ErrorCode.PortConflict, conflictMessage(wanted, e.claim), who);
        }
      }
      const body = JSON.stringify(holder);
      const present = new Set(existing.map((e) => e.name));
      for (const c of claims) {
        const name = claimFileName(c);
        if (!present.has(name)) writeFileSync(join(this.dir, name), body, { flag: 'wx' });
      }
    });
  }

  /** Releases the holder's claims (files another attachment holds stay). */
  async release(key: string, claims: readonly PortClaim[]): Promise<void> {
    if (claims.length === 0) return;
    await this.locked(() => {
      for (const c of claims) {
        const name = claimFileName(c);
        if (this.holderOf(name)?.key === key) removeFile(join(this.dir, name));
      }
    });
  }

  /** Releases every claim whose holder `pick` selects (GC); returns how many. */
  async releaseWhere(pick: (h: PortHolder) => boolean): Promise<number> {
    return this.locked(() => {
      let n = 0;
      for (const e of this.entries()) {
        const h = this.holderOf(e.name);
        if (h && pick(h)) {
          removeFile(join(this.dir, e.name));
          n++;
        }
      }
      return n;
    });
  }

  /** CHECK: the holder still holds every claim; CniError 105 otherwise. */
  verify(key: string, claims: readonly PortClaim[]): void {
    for (const c of claims) {
      if (this.holderOf(claimFileName(c))?.key !== key) {
        throw new CniError(ErrorCode.CheckFailed, `the reservation of port ${describeClaim(c)} is missing`);
      }
    }
  }

  /** Every reservation with its holder (for tests and diagnostics). */
  list(): Array<{ claim: PortClaim; holder: PortHolder | undefined }> {
    try {
      return this.entries().map((e) => ({ claim: e.claim, holder: this.holderOf(e.name) }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
