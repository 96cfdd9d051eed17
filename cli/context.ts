// The engine a command works on: state root from --root, CTNET_ROOT or the default; daemon.json
// from --config or /etc/ctnet/daemon.json; plugins from this checkout's bin/cni; the DNS responder
// started as `ctnet --state-dir DIR` (main.ts hands that argument to the daemon).
import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../engine/engine.js';

/** bin/cni beside this checkout's bundles: the plugins a runtime can use. */
export function pluginDir(): string {
  // import.meta.dirname: Node 20.11 and later, and the bundles (scripts/build.mjs).
  let dir = import.meta.dirname ?? dirname(fileURLToPath(import.meta.url));
  while (!readdirSync(dir).includes('package.json') && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'bin', 'cni');
}

export const warn = (message: string): void => console.error(`WARNING: ${message}`);

export function engineFor(cmd: Command): Engine {
  const opts = cmd.optsWithGlobals<{ root?: string; config?: string }>();
  return new Engine({
    root: opts.root ?? process.env.CTNET_ROOT ?? undefined,
    configPath: opts.config,
    pluginPath: [pluginDir()],
    // The same program and runtime flags as this process (a bundle, or tsx in development).
    dnsDaemonCommand: [process.execPath, ...process.execArgv, process.argv[1]!],
    onWarning: warn,
  });
}
