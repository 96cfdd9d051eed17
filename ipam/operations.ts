// The host-local IPAM commands. Each one validates the config, then does all of its store work in a
// single lock hold, so an ADD either reserves an address in every range set or none at all.
import { CniError, ErrorCode } from '../cni/errors.js';
import { validAttachments } from '../cni/gc.js';
import type { CmdArgs } from '../cni/skel.js';
import type { DNS, NetConf, Result } from '../cni/types.js';
import { type Allocation, allocate, assignRequested, findFree } from './allocator.js';
import { type IpamConfig, loadIpamConfig, requestedAddresses } from './config.js';
import { formatAddr, parseCidr } from '../ip/address.js';
import { type Owner, formatOwner, isAttachment, isLegacyOf, reservationsOf } from './owner.js';
import { formatRangeSet, gatewayText, rangeFor } from './range.js';
import { readResolvConf } from './resolv.js';
import { type LockedStore, type Reservation, withStore } from './store.js';

const storeOf = <T>(cfg: IpamConfig, fn: (store: LockedStore) => T): Promise<T> => withStore(cfg.dataDir, cfg.network, fn);

const ownerOf = (args: CmdArgs): Owner => ({ containerId: args.containerId, ifname: args.ifname });

/** The addresses the runtime's prevResult lists (none without one). */
const prevResultAddresses = (conf: NetConf) => (conf.prevResult?.ips ?? []).flatMap((ip) => parseCidr(ip.address)?.addr ?? []);

/** Reserves one address per range set for the attachment and returns them as a 1.1.0 result. */
export async function ipamAdd(args: CmdArgs, conf: NetConf): Promise<Result> {
  const cfg = loadIpamConfig(conf);
  const requested = assignRequested(cfg.network, cfg.rangeSets, requestedAddresses(conf, args.args));
  // Read before taking the lock: the critical section stays store-only.
  const dns: DNS | undefined = cfg.resolvConf ? readResolvConf(cfg.resolvConf) : undefined;
  const owner = ownerOf(args);

  const allocations = await storeOf(cfg, (store) => {
    const held = store.reservations();
    const taken = new Map(held.map((r) => [r.text, r.owner]));
    const mine = reservationsOf(held, args.containerId, args.ifname);
    // Decide every set before writing anything: a failure in set 2 then leaves set 1 untouched.
    const chosen = cfg.rangeSets.map((set, i) => {
      const already = mine.find((r) => rangeFor(set, r.address));
      if (already) {
        throw new CniError(
          ErrorCode.AddressConflict,
          `${formatOwner(owner)} already holds ${already.text} in range set ${i} (${formatRangeSet(set)}) of network "${cfg.network}": ` +
            'a duplicate ADD is not allowed, DEL the attachment first',
        );
      }
      return allocate({ network: cfg.network, set, taken, lastReserved: store.lastReserved(i), requested: requested[i] });
    });
    recordAll(store, chosen, owner);
    holdLockForTests();
    return chosen;
  });

  return {
    cniVersion: '1.1.0',
    ips: allocations.map((a) => ({ address: `${formatAddr(a.address)}/${a.range.subnet.prefix}`, gateway: gatewayText(a.range) })),
    ...(cfg.routes.length > 0 ? { routes: cfg.routes } : {}),
    ...(dns ? { dns } : {}),
  };
}

/** Writes the chosen reservations and cursors; on any failure, takes back what it wrote. */
function recordAll(store: LockedStore, chosen: readonly Allocation[], owner: Owner): void {
  const written: Pick<Reservation, 'file'>[] = [];
  try {
    chosen.forEach((a, i) => {
      const text = formatAddr(a.address);
      // Only a writer that ignores the lock could have taken it since reservations() was read.
      if (!store.reserve(a.address, owner)) throw new CniError(ErrorCode.AddressConflict, `address ${text} was taken while the store was locked`);
      written.push({ file: text });
      store.setLastReserved(i, a.address);
    });
  } catch (err) {
    for (const r of written) store.release(r);
    throw err;
  }
}

/**
 * Test hook: CTNET_TEST_HOLD_LOCK_MS makes ADD keep the lock that long after reserving, so a test
 * can kill the process while it holds the lock. Announced on stderr so the test knows when.
 */
function holdLockForTests(): void {
  const ms = Number(process.env.CTNET_TEST_HOLD_LOCK_MS);
  if (!(ms > 0)) return;
  process.stderr.write(`ctnet ipam: holding the store lock for ${ms} ms (CTNET_TEST_HOLD_LOCK_MS)\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Releases the attachment's addresses. Idempotent: an unknown attachment is not an error. */
export async function ipamDel(args: CmdArgs, conf: NetConf): Promise<void> {
  const cfg = loadIpamConfig(conf);
  await storeOf(cfg, (store) => {
    for (const r of listedReservations(store, cfg, conf, args) ?? reservationsOf(store.reservations(), args.containerId, args.ifname)) store.release(r);
  });
}

/**
 * The attachment's reservations found from the addresses its prevResult lists, when those are all
 * of them: one address in each range set (an ADD never reserves two in a set), each held by this
 * very attachment. DEL then reads a file per address instead of every file of a busy network.
 * Anything else (no prevResult, another plugin's address, a legacy or foreign holder) gives
 * undefined, and the caller reads the whole store.
 */
function listedReservations(store: LockedStore, cfg: IpamConfig, conf: NetConf, args: CmdArgs): Reservation[] | undefined {
  const listed = prevResultAddresses(conf);
  if (listed.length !== cfg.rangeSets.length) return undefined;
  const found: Reservation[] = [];
  for (const address of listed) {
    const r = store.reservationOf(address);
    if (!r || !isAttachment(r.owner, args.containerId, args.ifname)) return undefined;
    found.push(r);
  }
  return cfg.rangeSets.every((set) => found.filter((r) => rangeFor(set, r.address)).length === 1) ? found : undefined;
}

/**
 * Verifies that the attachment holds an address in every range set and, when the runtime passes a
 * prevResult, that the addresses it lists are the ones the store records.
 */
export async function ipamCheck(args: CmdArgs, conf: NetConf): Promise<void> {
  const cfg = loadIpamConfig(conf);
  const owner = ownerOf(args);
  const previous = prevResultAddresses(conf);
  await storeOf(cfg, (store) => {
    const mine = reservationsOf(store.reservations(), args.containerId, args.ifname);
    cfg.rangeSets.forEach((set, i) => {
      const held = mine.filter((r) => rangeFor(set, r.address)).map((r) => r.text);
      const where = `range set ${i} (${formatRangeSet(set)}) of network "${cfg.network}"`;
      if (held.length === 0) throw new CniError(ErrorCode.UnknownContainer, `${formatOwner(owner)} holds no address in ${where}`);
      for (const addr of previous.filter((a) => rangeFor(set, a))) {
        const text = formatAddr(addr);
        if (!held.includes(text)) {
          throw new CniError(
            ErrorCode.AddressConflict,
            `prevResult lists ${text} for ${formatOwner(owner)}, but the store records ${held.join(', ')} in ${where}`,
          );
        }
      }
    });
  });
}

/**
 * Releases every reservation of the network that no valid attachment owns. An empty list is
 * meaningful (nothing is in use: release everything); no list at all releases nothing, since the
 * runtime then said nothing about what is in use. Only reservation files are touched.
 */
export async function ipamGc(_args: CmdArgs, conf: NetConf): Promise<void> {
  const cfg = loadIpamConfig(conf);
  const valid = validAttachments(conf);
  if (!valid) return;
  const inUse = (o: Owner) => valid.some((a) => isAttachment(o, a.containerID, a.ifname) || isLegacyOf(o, a.containerID));
  await storeOf(cfg, (store) => {
    for (const r of store.reservations()) if (!inUse(r.owner)) store.release(r);
  });
}

/**
 * Whether an ADD could succeed now: the store takes new files and every range set has a free
 * address. Failures are the spec's code 50 (the plugin cannot serve ADD); a lock that stays held
 * keeps its code 11 (try again later).
 */
export async function ipamStatus(_args: CmdArgs, conf: NetConf): Promise<void> {
  const cfg = loadIpamConfig(conf);
  const unavailable = (msg: string) => new CniError(ErrorCode.PluginNotAvailable, msg);
  try {
    await storeOf(cfg, (store) => {
      store.probeWritable();
      const taken = new Map(store.reservations().map((r) => [r.text, r.owner]));
      cfg.rangeSets.forEach((set, i) => {
        if (!findFree(set, taken, store.lastReserved(i))) {
          throw unavailable(`no free address in range set ${i} (${formatRangeSet(set)}) of network "${cfg.network}"`);
        }
      });
    });
  } catch (err) {
    if (err instanceof CniError && err.code === ErrorCode.IOFailure) throw unavailable(`${err.message}: the store is not usable`);
    throw err;
  }
}
