// What a worker compiles while it waits: the bundles of the runs its server saw lately (a chain's
// plugins, ADD and DEL), each through its V8 code cache, so that a run finds its bundle read and
// deserialized already (~7 ms of each run here: bench/README.md). start.cjs takes a script from
// the map at PRELOADED when there is one for its bundle and command, and compiles the same way
// when not: the CommonJS wrapper around the bundle's source, with the cache beside the bundle.
import { readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { createRequire } from 'node:module';
import { Script } from 'node:vm';

/** Where start.cjs looks (globalThis): cache file -> the script compiled with it. */
const PRELOADED = Symbol.for('ctnet.start.preloaded');

/** A run as a worker reports it to its server, and as the server names what to preload: JSON, one line. */
export const runKey = (bundle: string, command: string | undefined): string => JSON.stringify([bundle, command ?? '']);

/** The variant start.cjs gives a command's code cache. */
const variant = (command: string) => (/^[A-Z]+$/.test(command) ? command : 'run');

/**
 * Compiles each run's bundle through its code cache; one without a cache (never run here) is left
 * out. Returns what it compiled ("bridge DEL", ...).
 */
export function preload(keys: readonly string[]): string[] {
  const { wrap } = createRequire(import.meta.url)('node:module') as { wrap(source: string): string };
  const scripts = new Map<string, Script>();
  const done: string[] = [];
  for (const key of keys) {
    try {
      const [bundle, command] = JSON.parse(key) as [string, string];
      const file = realpathSync(bundle);
      const cacheFile = `${file}.${variant(command)}.v8cache`;
      const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData: readFileSync(cacheFile) });
      if (script.cachedDataRejected) continue;
      scripts.set(cacheFile, script);
      done.push(`${basename(bundle, '.cjs')} ${command}`);
    } catch {
      // Gone, or never run with this command: the run compiles it itself.
    }
  }
  (globalThis as Record<symbol, unknown>)[PRELOADED] = scripts;
  return done;
}
