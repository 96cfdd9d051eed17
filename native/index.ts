// Loads the native addon (setns, flock) from native/build, found from this file's location both
// in the TypeScript sources and in the bundles under dist/.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  setns(fd: number, nstype: number): void;
  flock(fd: number, op: number): boolean;
  constants: {
    CLONE_NEWNET: number;
    CLONE_NEWNS: number;
    LOCK_SH: number;
    LOCK_EX: number;
    LOCK_UN: number;
    LOCK_NB: number;
  };
}

let addon: NativeAddon | undefined;

function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'native', 'build', 'Release', 'ctnet_native.node');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('ctnet native addon not built: run `npm ci` (or `npm run install`)');
    dir = parent;
  }
}

export function native(): NativeAddon {
  addon ??= createRequire(import.meta.url)(addonPath()) as NativeAddon;
  return addon;
}
