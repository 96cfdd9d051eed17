// The responder daemon: `node dns/daemon.js --state-dir DIR` (or its bundle). The engine starts it
// when the first container with name resolution joins a user network; from then on the engine only
// writes files (state-files.ts) and the daemon follows them:
// - responder.json lists the networks and their listen addresses; a change is applied within a
//   second, and when it lists no network (or is removed) the daemon exits by itself;
// - records/<network>.json lists each network's containers, reloaded within a second;
// - responder.pid is claimed at start, marked ready once the listeners are up, removed on exit.
// SIGTERM/SIGINT: close every socket, remove the pid file, exit 0. SIGHUP: reload everything.
// A file that does not parse is logged and the previous state kept (the engine writes atomically,
// so that means a bug, not a race). Logs go to stderr, one line each, never per query.
import { mkdirSync } from 'node:fs';
import { FileWatch } from './file-watch.js';
import { DAEMON_ARG, claimPidFile, markPidFileReady, releasePidFile } from './pid-file.js';
import { DnsResponder, validateNetworkConfig } from './responder.js';
import { type ResponderFile, dnsStatePaths, parseRecordsFile, parseResponderFile, readIfExists } from './state-files.js';
import { HOST_RESOLV_CONF, SYSTEMD_RESOLV_CONF, type Server, hostResolvConf, parseServer, usableNameservers } from './upstreams.js';

const POLL_MS = 250;
const RETRY_LISTENERS_MS = 1000;

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ctnet-dns[${process.pid}]: ${message}\n`);
}

function parseArgs(argv: string[]): string {
  const usage = `usage: ctnet-dns ${DAEMON_ARG} DIR`;
  const [flag, value, ...rest] = argv;
  if (flag === DAEMON_ARG && value && rest.length === 0) return value;
  throw new Error(usage);
}

/** The config, undefined when there is none; throws when it does not parse. */
function loadConfig(path: string): ResponderFile | undefined {
  const text = readIfExists(path);
  return text === undefined ? undefined : parseResponderFile(text);
}

function upstreamsOf(config: ResponderFile): Server[] {
  if (config.upstreams) return config.upstreams.map((s) => parseServer(s));
  const { dns, path } = hostResolvConf();
  const { servers, skipped } = usableNameservers(dns);
  if (skipped.length) log(`upstreams from ${path}: skipping ${skipped.join(', ')} (loopback or unusable from a container)`);
  if (servers.length === 0) log(`no usable upstream resolver in ${path}: names other than containers' will get SERVFAIL`);
  return servers;
}

async function main(): Promise<void> {
  const stateDir = parseArgs(process.argv.slice(2));
  const paths = dnsStatePaths(stateDir);
  let config = loadConfig(paths.config);
  if (!config || config.networks.length === 0) {
    log('no network to serve: exiting');
    return;
  }
  mkdirSync(paths.recordsDir, { recursive: true });

  const responder = new DnsResponder({ ttl: config.ttl, limits: config.limits, log });
  // Started once the listeners are up; stop() may come earlier.
  const timers: { watch?: FileWatch; retry?: NodeJS.Timeout } = {};
  let stopping = false;
  let upstreamsSignature = '';

  const stop = async (reason: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${reason}`);
    timers.watch?.close();
    clearInterval(timers.retry);
    // Closing is bounded anyway (connections are destroyed, forwards cancelled); this is the backstop.
    setTimeout(() => process.exit(code), 3000).unref();
    await responder.close();
    releasePidFile(paths.pidFile);
    process.exit(code);
  };

  const loadRecords = (network: string) => {
    try {
      const text = readIfExists(paths.records(network));
      responder.setRecords(network, text === undefined ? [] : parseRecordsFile(text));
    } catch (err) {
      log(`network ${network}: keeping the previous records: ${(err as Error).message}`);
    }
  };

  const applyUpstreams = (servers: Server[]) => {
    const signature = JSON.stringify(servers);
    if (signature !== upstreamsSignature) log(`upstreams: ${servers.map((s) => `${s.address} port ${s.port}`).join(', ') || 'none'}`);
    upstreamsSignature = signature;
    responder.setUpstreams(servers);
  };

  const served = new Set<string>();
  const apply = async (current: ResponderFile, recordsChanged: (network: string) => boolean) => {
    // What can be refused is checked before anything changes.
    current.networks.forEach(validateNetworkConfig);
    const upstreams = upstreamsOf(current);
    const names = new Set(current.networks.map((n) => n.name));
    for (const name of names) if (!served.has(name) || recordsChanged(name)) loadRecords(name);
    for (const name of served) if (!names.has(name)) responder.removeRecords(name);
    served.clear();
    for (const name of names) served.add(name);
    applyUpstreams(upstreams);
    await responder.setNetworks(current.networks.map((n) => ({ ...n, port: n.port ?? current.port })));
  };

  const reloadOnce = async (changed: string[] | 'all') => {
    let next = config as ResponderFile;
    if (changed === 'all' || changed.includes(paths.config)) {
      let read: ResponderFile | undefined;
      try {
        read = loadConfig(paths.config);
      } catch (err) {
        log(`keeping the previous config: ${(err as Error).message}`);
        return;
      }
      if (!read || read.networks.length === 0) return stop('no network left');
      next = read;
    }
    try {
      await apply(next, (network) => changed === 'all' || changed.includes(paths.records(network)));
      config = next;
    } catch (err) {
      log(`keeping the previous config: ${(err as Error).message}`);
    }
  };
  // One reload at a time; changes arriving meanwhile wait for the next.
  let reloading: Promise<void> = Promise.resolve();
  const reload = (changed: string[] | 'all') => {
    reloading = reloading
      .then(async () => {
        if (!stopping) await reloadOnce(changed);
      })
      .catch((err: unknown) => log(`reload failed: ${(err as Error).message}`));
  };

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => void reload('all'));
  // A crash still must not leave a pid file naming a dead responder.
  process.on('exit', () => releasePidFile(paths.pidFile));

  // Claimed before binding: of two daemons started at once, the one that loses leaves the ports alone.
  const claim = claimPidFile(paths.pidFile);
  if (!claim.claimed) throw new Error(`a responder already runs for ${stateDir} (pid ${claim.holder})`);
  await apply(config, () => true);
  markPidFileReady(paths.pidFile);
  for (const l of responder.listeners()) {
    log(`network ${l.network}: ${l.listening ? `listening on ${l.address} port ${l.port}` : `not listening on ${l.address} port ${l.port} yet (${l.error})`}`);
  }

  timers.watch = new FileWatch({
    files: () => [paths.config, ...(config?.networks ?? []).map((n) => paths.records(n.name)), HOST_RESOLV_CONF, SYSTEMD_RESOLV_CONF],
    dirs: [paths.dir, paths.recordsDir],
    pollMs: POLL_MS,
    onChange: (changed) => void reload(changed),
  });
  // Addresses appear late (IPv6 duplicate address detection, a bridge brought up after us).
  timers.retry = setInterval(() => {
    if (responder.listeners().some((l) => !l.listening)) void responder.retryListeners();
  }, RETRY_LISTENERS_MS);
}

main().catch((err: unknown) => {
  log((err as Error).message);
  process.exit(1);
});
