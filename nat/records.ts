// The state record of each attachment: the exact rules ADD installed, its host port claims and its
// UDP ports. DEL and GC work from it (not from interfaces that may be gone), and deleting exactly
// what was added keeps DEL right even after the rule generator changes between versions. One
// file per attachment, written before any rule exists and removed after the last one is gone.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeFile } from '../cni/files.js';
import type { PortClaim } from './port-mappings.js';
import type { RuleSet } from './rule.js';
import type { Family } from './types.js';

export interface AttachmentRecord {
  version: 1;
  key: string;
  owner: string;
  network: string;
  containerId: string;
  ifname: string;
  families: Array<{ family: Family; owned: RuleSet }>;
  claims: PortClaim[];
  udp: Array<{ family: Family; hostPort: number; hostPortEnd: number }>;
}

export class RecordStore {
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  read(key: string): AttachmentRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const rec = JSON.parse(text) as AttachmentRecord;
      return rec.version === 1 && rec.key === key ? rec : undefined;
    } catch {
      return undefined; // a torn write of a crashed process: GC's tag sweep covers its rules
    }
  }

  /** Atomic replace (write aside, rename), so a reader never sees half a record. */
  write(rec: AttachmentRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.path(rec.key)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(rec));
    renameSync(tmp, this.path(rec.key));
  }

  remove(key: string): void {
    removeFile(this.path(key));
  }

  list(): AttachmentRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter((n) => /^[0-9a-f]{16}\.json$/.test(n))
      .map((n) => this.read(n.slice(0, 16)))
      .filter((r): r is AttachmentRecord => r !== undefined);
  }
}
