// sysctls under /proc/sys are per network namespace for net.*: a file opened while the main thread
// is inside a namespace reads and writes that namespace's values. Synchronous on purpose (see netns.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import type { NetNs } from './netns.js';

/** "net.ipv4.ip_forward" or "net/ipv4/ip_forward" to its /proc/sys path. */
export function sysctlPath(key: string): string {
  if (key.includes('..') || key.startsWith('/')) throw new Error(`invalid sysctl name ${JSON.stringify(key)}`);
  // Dots separate levels, except inside interface names, which callers pass with slashes.
  const rel = key.includes('/') ? key : key.replace(/\./g, '/');
  return `/proc/sys/${rel}`;
}

export function readSysctl(key: string, ns?: NetNs): string {
  const read = () => readFileSync(sysctlPath(key), 'utf8').trim();
  return ns ? ns.run(read) : read();
}

/** Writes a value, skipping the write (a costly proc handler for some keys) when it already holds. */
export function writeSysctl(key: string, value: string, ns?: NetNs): void {
  const write = () => {
    const path = sysctlPath(key);
    if (readFileSync(path, 'utf8').trim() === value) return;
    writeFileSync(path, value);
  };
  if (ns) ns.run(write);
  else write();
}
