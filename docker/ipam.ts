// IpamDriver: pools and addresses for dockerd. Pools are recorded in the plugin state; addresses
// are reservations in ctnet's file-locked IPAM store (one store per pool, under <stateDir>/ipam),
// chosen by ctnet's allocator, so they survive restarts and two processes never hand out one address.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type IpAddr, formatAddr, networkOf, parseAddr, parseCidr } from '../ip/address.js';
import { allocate } from '../ipam/allocator.js';
import { withStore } from '../ipam/store.js';
import { PluginError } from './errors.js';
import { type RequestAddressRequest, type RequestPoolRequest, type ReleaseAddressRequest, LABEL } from './protocol.js';
import { GLOBAL_ADDRESS_SPACE, LOCAL_ADDRESS_SPACE, choosePool, firstHost, newUlaPrefix, poolDirName, poolRanges } from './pools.js';
import type { PluginState, PoolRecord, StateStore } from './state.js';

export interface IpamDeps {
  state: StateStore;
  /** Destinations of the host namespace's routes of a family. */
  hostRoutes(family: 4 | 6): Promise<string[]>;
  log(message: string): void;
}

/** Who a reservation file names as holder (`<containerID>\r\n<ifname>` in the reference layout). */
const OWNER = { containerId: 'docker' } as const;

export const capabilities = () => ({ RequiresMACAddress: false, RequiresRequestReplay: false });

export const defaultAddressSpaces = () => ({ LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE, GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE });

const storeDirOf = (deps: IpamDeps) => deps.state.ipamDir;

function poolOf(s: PluginState, id: string): PoolRecord {
  const pool = s.pools[id];
  if (!pool) throw new PluginError(`unknown address pool ${JSON.stringify(id)} (it was released, or the plugin's state was lost)`);
  return pool;
}

/** "10.1.2.5" or "10.1.2.5/24" as an address. */
function addressOf(text: string): IpAddr {
  const addr = parseAddr(text) ?? parseCidr(text)?.addr;
  if (!addr) throw new PluginError(`invalid address ${JSON.stringify(text)}`);
  return addr;
}

export async function requestPool(deps: IpamDeps, req: RequestPoolRequest) {
  // Routes matter only to an automatic choice; read them before queueing behind other requests.
  const hostRoutes = req.Pool ? [] : await deps.hostRoutes(req.V6 ? 6 : 4);
  return deps.state.update((s) => {
    s.ula ??= newUlaPrefix(randomBytes(5));
    const pool = choosePool(req, { existing: Object.values(s.pools), hostRoutes, ula: s.ula });
    // A directory left by an earlier pool of the same id (a crash before its release) holds nothing valid.
    rmSync(join(storeDirOf(deps), poolDirName(pool.id)), { recursive: true, force: true });
    s.pools[pool.id] = pool;
    return { PoolID: pool.id, Pool: pool.pool, Data: {} };
  });
}

export async function releasePool(deps: IpamDeps, id: string) {
  return deps.state.update((s) => {
    if (!s.pools[id]) deps.log(`ReleasePool: pool ${id} is not known (already released)`);
    delete s.pools[id];
    rmSync(join(storeDirOf(deps), poolDirName(id)), { recursive: true, force: true });
    return {};
  });
}

export async function requestAddress(deps: IpamDeps, req: RequestAddressRequest) {
  return deps.state.update(async (s) => {
    const pool = poolOf(s, req.PoolID);
    const gateway = req.Options[LABEL.requestAddressType] === LABEL.gateway;
    const { whole, auto } = poolRanges(pool);
    // dockerd names the address (--ip, --gateway, --aux-address) or, for a gateway, lets us pick: the first host.
    const requested = req.Address ? addressOf(req.Address) : gateway ? addressOf(firstHost(pool)) : undefined;
    if (requested && (requested.family !== whole.family || networkOf({ addr: requested, prefix: whole.subnet.prefix }) !== whole.subnet.addr.value)) {
      throw new PluginError(`address ${formatAddr(requested)} is not in the pool ${pool.pool}`);
    }
    const kind = gateway ? 'gateway' : requested ? 'requested' : 'automatic';
    const address = await withStore(storeDirOf(deps), poolDirName(pool.id), (store) => {
      const taken = new Map(store.reservations().map((r) => [r.text, r.owner]));
      if (requested && taken.has(formatAddr(requested))) {
        throw new PluginError(`address ${formatAddr(requested)} is already in use in the pool ${pool.pool}`);
      }
      const chosen = allocate({
        network: pool.pool,
        set: [requested ? whole : auto],
        taken,
        lastReserved: requested ? undefined : store.lastReserved(0),
        requested,
      });
      if (!store.reserve(chosen.address, { ...OWNER, ifname: kind })) {
        throw new PluginError(`address ${formatAddr(chosen.address)} was taken while the store was locked`);
      }
      if (!requested) store.setLastReserved(0, chosen.address);
      return chosen.address;
    });
    return { Address: `${formatAddr(address)}/${whole.subnet.prefix}`, Data: {} };
  });
}

export async function releaseAddress(deps: IpamDeps, req: ReleaseAddressRequest) {
  return deps.state.update(async (s) => {
    const pool = s.pools[req.PoolID];
    if (!pool) {
      deps.log(`ReleaseAddress: pool ${req.PoolID} is not known (already released)`);
      return {};
    }
    const text = formatAddr(addressOf(req.Address));
    await withStore(storeDirOf(deps), poolDirName(pool.id), (store) => {
      const held = store.reservations().find((r) => r.text === text);
      if (held) store.release(held);
      else deps.log(`ReleaseAddress: ${text} is not reserved in pool ${pool.id}`);
    });
    return {};
  });
}
