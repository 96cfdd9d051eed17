// Notices changes to a set of files within a bounded delay: fs.watch on their directories reacts at
// once, and a periodic stat catches what inotify misses (a directory created later, a filesystem
// without events). A file's signature is its inode, size and mtime, so an atomic rename (new inode)
// and an in-place rewrite both count; appearing and disappearing count too.
import { type FSWatcher, statSync, watch } from 'node:fs';

export interface FileWatchOptions {
  /** The files to track; asked again at every check, so the set can change. */
  files: () => string[];
  /** Directories to watch for events (missing ones are left to the poll). */
  dirs: string[];
  /** The longest a change goes unnoticed. */
  pollMs: number;
  onChange: (changed: string[]) => void;
}

function signature(path: string): string {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : 'absent';
}

export class FileWatch {
  private readonly seen = new Map<string, string>();
  private readonly watchers: FSWatcher[] = [];
  private readonly timer: NodeJS.Timeout;
  private soon: NodeJS.Timeout | undefined;

  /** Records the files' current state: only later changes are reported. */
  constructor(private readonly opts: FileWatchOptions) {
    for (const f of opts.files()) this.seen.set(f, signature(f));
    for (const dir of opts.dirs) this.watchDir(dir);
    this.timer = setInterval(() => this.check(), opts.pollMs);
  }

  private watchDir(dir: string): void {
    try {
      const w = watch(dir, { persistent: false }, () => this.checkSoon());
      w.on('error', () => w.close());
      this.watchers.push(w);
    } catch {
      // the directory does not exist (yet): the poll covers it
    }
  }

  /** Events come in bursts (a write, then a rename): check once after they settle. */
  private checkSoon(): void {
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      this.check();
    }, 20);
  }

  /** Compares every tracked file with what was last seen and reports the differences. */
  check(): void {
    const changed: string[] = [];
    const files = this.opts.files();
    for (const f of files) {
      const sig = signature(f);
      if (this.seen.get(f) !== sig) changed.push(f);
      this.seen.set(f, sig);
    }
    for (const f of [...this.seen.keys()]) if (!files.includes(f)) this.seen.delete(f);
    if (changed.length) this.opts.onChange(changed);
  }

  close(): void {
    clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    for (const w of this.watchers) w.close();
  }
}
