// Container network namespaces as files under the engine's root (`<root>/netns/<id>`): a
// namespace lives as long as its bind mount, independent of any process, so a container keeps its
// network after its process exits (Docker's behaviour) and `rm` can tear it down later. Made with
// util-linux `unshare --net=FILE` (which bind-mounts the new namespace onto FILE) and removed with
// `umount`; nothing here uses `ip netns exec`, whose private mount namespace would hide the mount.
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Whether `path` is a mount point of this mount namespace (a namespace file still bound). */
export function isMounted(path: string): boolean {
  // mountinfo escapes spaces and the like as octal; the engine's paths carry none of them.
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === path);
}

/** A new, empty network namespace bound at `path` (lo down). */
export async function createNetns(path: string): Promise<void> {
  const { execa } = await import('execa');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, '', { mode: 0o600 });
  await execa('unshare', [`--net=${path}`, 'true']);
}

/** Unbinds and deletes the namespace file; fine when it is already gone. */
export async function removeNetns(path: string): Promise<void> {
  if (isMounted(path)) {
    const { execa } = await import('execa');
    // Lazy: a process still inside (an exec that outlived its container) must not block removal.
    await execa('umount', ['--lazy', path]);
  }
  await rm(path, { force: true });
}
