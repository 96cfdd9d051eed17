// `ctnet docker-plugin`: ctnet as a Docker network driver and IPAM driver (libnetwork's remote
// driver protocol), listening where dockerd discovers legacy plugins, /run/docker/plugins/NAME.sock.
// Run it in the namespace whose bridges it should manage (the host's), next to dockerd:
//
//   node --import=tsx docker/daemon.ts [--name ctnet] [--state-dir DIR] [--socket-dir DIR]
//   docker network create -d ctnet --ipam-driver ctnet --subnet 10.1.2.0/24 n1
import type { Server } from 'node:http';
import { join } from 'node:path';
import { DATA_DIR_ENV, DEFAULT_DATA_DIR, firewallBackend, resolveDataDir } from '../nat/index.js';
import type { Connectivity } from './connectivity.js';
import { createDriver } from './driver.js';
import { type Kernel, netlinkKernel } from './kernel.js';
import { natConnectivity } from './nat-connectivity.js';
import { restore } from './network.js';
import { serve } from './server.js';
import { StateStore } from './state.js';

export const DEFAULT_PLUGIN_NAME = 'ctnet';
export const DEFAULT_SOCKET_DIR = '/run/docker/plugins';
export const DEFAULT_STATE_ROOT = '/var/lib/ctnet/docker-plugin';

export interface DockerPluginOptions {
  /** The driver name users give to `docker network create -d` and `--ipam-driver` (default "ctnet"). */
  name?: string;
  /** Where networks, endpoints, pools and address reservations are kept (default /var/lib/ctnet/docker-plugin/NAME). */
  stateDir?: string;
  /** Where the socket NAME.sock goes (default /run/docker/plugins, where dockerd looks). */
  socketDir?: string;
  /** Diagnostics, one line each (default: stderr). */
  log?: (message: string) => void;
  /** Overrides for tests. */
  kernel?: Kernel;
  connectivity?: Connectivity;
}

export interface DockerPlugin {
  name: string;
  socketPath: string;
  stateDir: string;
  /** Stops serving and removes the socket; the state stays for the next start. */
  close(): Promise<void>;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Starts the plugin: takes the state directory (one plugin per directory), restores the bridges of
 * known networks, then listens. Resolves once dockerd can reach it.
 */
export async function runDockerPlugin(opts: DockerPluginOptions = {}): Promise<DockerPlugin> {
  const name = opts.name ?? DEFAULT_PLUGIN_NAME;
  if (!NAME.test(name) || name.length > 64) {
    throw new Error(`invalid plugin name ${JSON.stringify(name)}: use up to 64 letters, digits, '_', '.' and '-', starting with a letter or digit`);
  }
  const log = opts.log ?? ((m: string) => process.stderr.write(`ctnet docker-plugin ${name}: ${m}\n`));
  const stateDir = opts.stateDir ?? join(DEFAULT_STATE_ROOT, name);
  const socketPath = join(opts.socketDir ?? DEFAULT_SOCKET_DIR, `${name}.sock`);

  const state = new StateStore(stateDir);
  await state.open();
  let server: Server | undefined;
  try {
    const deps = {
      state,
      kernel: opts.kernel ?? netlinkKernel(),
      connectivity: opts.connectivity ?? natConnectivity(firewallBackend({ log })),
      log,
    };
    await restore(deps);
    server = await serve({ socketPath, driver: createDriver(deps), log });
  } catch (err) {
    state.close();
    throw err;
  }
  log(`listening on ${socketPath} (state in ${stateDir}, firewall records and host port reservations in ${resolveDataDir()})`);
  const listening = server;
  let closed: Promise<void> | undefined;
  return {
    name,
    socketPath,
    stateDir,
    close() {
      // Closing the server unlinks the socket file; open connections finish their request first.
      closed ??= new Promise<void>((resolve) => {
        listening.close(() => {
          state.close();
          resolve();
        });
        listening.closeIdleConnections();
      });
      return closed;
    },
  };
}

const USAGE = `usage: docker-plugin [--name NAME] [--state-dir DIR] [--socket-dir DIR]

Serves Docker's network driver and IPAM driver protocols as NAME (default ${DEFAULT_PLUGIN_NAME}) on
SOCKET-DIR/NAME.sock (default ${DEFAULT_SOCKET_DIR}); state in STATE-DIR (default ${DEFAULT_STATE_ROOT}/NAME).
Firewall records and host port reservations go to $${DATA_DIR_ENV} (default ${DEFAULT_DATA_DIR}), shared
with ctnet's CNI plugins so a host port is never given to two of them.`;

export function parseArgs(argv: readonly string[]): DockerPluginOptions | 'help' {
  const out: DockerPluginOptions = {};
  const keys: Record<string, 'name' | 'stateDir' | 'socketDir'> = { '--name': 'name', '--state-dir': 'stateDir', '--socket-dir': 'socketDir' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const key = keys[flag];
    if (!key) throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
    out[key] = value;
  }
  return out;
}

/** The process: runs until SIGTERM or SIGINT, then removes its socket. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let opts: DockerPluginOptions | 'help';
  try {
    opts = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`ctnet docker-plugin: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let plugin: DockerPlugin;
  try {
    plugin = await runDockerPlugin(opts);
  } catch (err) {
    process.stderr.write(`ctnet docker-plugin: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const stop = () => {
    void plugin.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
