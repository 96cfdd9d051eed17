// `tuning` (chained): sysctls under /proc/sys/net inside the container (IFNAME in a key stands for
// the interface), and the interface's mac, mtu, promisc, allmulti and txQLen. The original values
// are saved before anything changes and put back on DEL, so a network can be detached cleanly.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { CniError, ErrorCode } from '../cni/errors.js';
import { Rollback } from '../cni/rollback.js';
import { parseConfigWith } from '../cni/schema.js';
import type { CmdArgs, Plugin } from '../cni/skel.js';
import type { NetConf, Result } from '../cni/types.js';
import { readSysctl, requireLink, setLink, withRtnl, writeSysctl, type Link, type LinkChanges, type NetNs, type Rtnl } from '../netlink/index.js';
import { openContainerNs, openContainerNsForDel } from '../plugins/shared/container-ns.js';

const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

const schema = v.looseObject({
  sysctl: v.optional(v.record(v.string(), v.string('sysctl values must be strings')), {}),
  mac: v.optional(v.pipe(v.string(), v.regex(MAC, 'must be a MAC address like aa:bb:cc:dd:ee:ff'))),
  mtu: v.optional(v.pipe(v.number(), v.integer('must be an integer'), v.minValue(68, 'must be at least 68'), v.maxValue(65535, 'must be at most 65535'))),
  promisc: v.optional(v.boolean('must be true or false')),
  allmulti: v.optional(v.boolean('must be true or false')),
  txQLen: v.optional(v.pipe(v.number(), v.integer('must be an integer'), v.minValue(0, 'must be >= 0'))),
  dataDir: v.optional(v.pipe(v.string(), v.nonEmpty('must not be empty')), '/run/cni/tuning'),
});

export type TuningConf = NetConf & v.InferOutput<typeof schema>;

/** The values a DEL restores. */
interface Saved {
  link: Pick<Link, 'mac' | 'mtu' | 'promisc' | 'allmulti' | 'txQLen'>;
  sysctl: Record<string, string>;
}

export function parseTuningConfig(raw: NetConf): TuningConf {
  const conf = parseConfigWith(schema, raw, 'tuning config') as TuningConf;
  // The mac capability and args take precedence over the static key, as in the reference plugin.
  const mac = raw.runtimeConfig?.mac ?? raw.args?.cni?.mac;
  if (typeof mac === 'string' && mac !== '') {
    if (!MAC.test(mac)) throw new CniError(ErrorCode.InvalidNetworkConfig, `tuning: mac ${JSON.stringify(mac)} is not a MAC address`);
    conf.mac = mac;
  }
  return conf;
}

/** "net.ipv4.conf.IFNAME.arp_notify" -> the /proc/sys path key; only net.* may be tuned. */
export function sysctlKey(key: string, ifname: string): string {
  const withIf = key.replaceAll('IFNAME', ifname);
  // Dots separate levels, but an interface name may itself hold dots: substitute it whole.
  const path = withIf.includes('/') ? withIf : key.split('.').map((part) => (part === 'IFNAME' ? ifname : part)).join('/');
  if (!path.startsWith('net/') || path.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `tuning: sysctl ${JSON.stringify(key)} is not under net.* (only network sysctls of the container may be tuned)`);
  }
  return path;
}

const stateFile = (conf: TuningConf, args: CmdArgs) => join(conf.dataDir, `${args.containerId}-${args.ifname}.json`);

function linkChanges(conf: TuningConf): LinkChanges {
  return {
    ...(conf.mac !== undefined ? { mac: conf.mac.toLowerCase() } : {}),
    ...(conf.mtu !== undefined ? { mtu: conf.mtu } : {}),
    ...(conf.promisc !== undefined ? { promisc: conf.promisc } : {}),
    ...(conf.allmulti !== undefined ? { allmulti: conf.allmulti } : {}),
    ...(conf.txQLen !== undefined ? { txQLen: conf.txQLen } : {}),
  };
}

async function inContainer<T>(ns: NetNs, fn: (rtnl: Rtnl) => Promise<T>): Promise<T> {
  try {
    return await withRtnl(ns, fn);
  } finally {
    ns.close();
  }
}

export const tuningPlugin: Plugin<TuningConf> = {
  parseConfig: parseTuningConfig,

  async add(args, conf) {
    const prev = conf.prevResult;
    if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'tuning must be chained after a plugin that creates the interface (no prevResult)');
    const keys = Object.entries(conf.sysctl).map(([k, value]) => [sysctlKey(k, args.ifname), value] as const);
    const ns = openContainerNs(args);
    return inContainer(ns, async (rtnl) => {
      const link = await requireLink(rtnl, args.ifname);
      const saved: Saved = {
        link: { mac: link.mac, mtu: link.mtu, promisc: link.promisc, allmulti: link.allmulti, txQLen: link.txQLen },
        sysctl: ns.run(() => Object.fromEntries(keys.map(([k]) => [k, readSysctl(k)]))),
      };
      const rollback = new Rollback();
      try {
        saveOnce(stateFile(conf, args), saved);
        rollback.add('the saved state', () => rmSync(stateFile(conf, args), { force: true }));
        rollback.add('the sysctls', () => ns.run(() => keys.forEach(([k]) => writeSysctl(k, saved.sysctl[k]!))));
        ns.run(() => keys.forEach(([k, value]) => writeSysctl(k, value)));
        rollback.add(`the settings of ${args.ifname}`, () => setLink(rtnl, link.index, restoreChanges(saved)));
        const changes = linkChanges(conf);
        if (Object.keys(changes).length > 0) await setLink(rtnl, link.index, changes);
      } catch (err) {
        await rollback.run();
        throw err;
      }
      return withMac(prev, args, conf.mac);
    });
  },

  async del(args, conf) {
    const file = stateFile(conf, args);
    let saved: Saved;
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
    } catch {
      return; // nothing was changed, or it was already restored
    }
    const ns = openContainerNsForDel(args);
    if (ns) {
      await inContainer(ns, async (rtnl) => {
        const link = await requireLink(rtnl, args.ifname).catch(() => null);
        if (!link) return; // the interface went with its creator's DEL
        ns.run(() => Object.entries(saved.sysctl).forEach(([k, value]) => writeSysctl(k, value)));
        await setLink(rtnl, link.index, restoreChanges(saved));
      });
    }
    rmSync(file, { force: true });
  },

  async check(args, conf) {
    const ns = openContainerNs(args);
    await inContainer(ns, async (rtnl) => {
      const link = await requireLink(rtnl, args.ifname);
      const fail = (what: string, want: unknown, got: unknown) =>
        new CniError(ErrorCode.CheckFailed, `tuning: ${args.ifname} ${what} is ${JSON.stringify(got)}, the config sets ${JSON.stringify(want)}`);
      for (const [k, value] of Object.entries(conf.sysctl)) {
        const path = sysctlKey(k, args.ifname);
        const got = ns.run(() => readSysctl(path));
        if (got !== value) throw fail(`sysctl ${k}`, value, got);
      }
      const c = linkChanges(conf);
      if (c.mac !== undefined && link.mac !== c.mac) throw fail('mac', c.mac, link.mac);
      if (c.mtu !== undefined && link.mtu !== c.mtu) throw fail('mtu', c.mtu, link.mtu);
      if (c.promisc !== undefined && link.promisc !== c.promisc) throw fail('promisc', c.promisc, link.promisc);
      if (c.allmulti !== undefined && link.allmulti !== c.allmulti) throw fail('allmulti', c.allmulti, link.allmulti);
      if (c.txQLen !== undefined && link.txQLen !== c.txQLen) throw fail('txQLen', c.txQLen, link.txQLen);
    });
  },
};

function restoreChanges(saved: Saved): LinkChanges {
  const l = saved.link;
  return { ...(l.mac ? { mac: l.mac } : {}), mtu: l.mtu, promisc: l.promisc, allmulti: l.allmulti, txQLen: l.txQLen };
}

/** Keeps the first saved state: a retried ADD must not record its own changes as the originals. */
function saveOnce(file: string, saved: Saved): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  try {
    readFileSync(file);
    return;
  } catch {
    // not there yet
  }
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(saved), { mode: 0o600 });
  renameSync(temp, file);
}

/** prevResult, with the new MAC on the container interface it changed. */
function withMac(prev: Result, args: CmdArgs, mac: string | undefined): Result {
  if (!mac) return prev;
  return {
    ...prev,
    interfaces: prev.interfaces?.map((i) => (i.name === args.ifname && i.sandbox ? { ...i, mac: mac.toLowerCase() } : i)),
  };
}
