// Addresses for the bridge: ctnet's own host-local runs in-process (one Node process per ADD, not
// two); any other IPAM type is a plugin on CNI_PATH, run as the reference bridge runs it.
import { delegate } from '../cni/delegate.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs } from '../cni/skel.js';
import type { NetConf, Result } from '../cni/types.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../ipam/index.js';

const OWN = 'host-local';

export async function ipamAllocate(args: CmdArgs, conf: NetConf): Promise<Result> {
  const type = conf.ipam!.type;
  const result = type === OWN ? await ipamAdd(args, conf) : await delegate(type, conf, args, { command: 'ADD' });
  if (!result?.ips?.length) throw new CniError(ErrorCode.InvalidNetworkConfig, `IPAM plugin ${type} returned no IP configuration`);
  return result;
}

export async function ipamRelease(args: CmdArgs, conf: NetConf): Promise<void> {
  const type = conf.ipam!.type;
  if (type === OWN) await ipamDel(args, conf);
  else await delegate(type, conf, args, { command: 'DEL' });
}

export async function ipamVerify(args: CmdArgs, conf: NetConf): Promise<void> {
  const type = conf.ipam!.type;
  if (type === OWN) await ipamCheck(args, conf);
  else await delegate(type, conf, args, { command: 'CHECK' });
}

/** GC and STATUS exist from spec 1.1.0; skel only dispatches them for such configs. */
export async function ipamCollect(args: CmdArgs, conf: NetConf): Promise<void> {
  const type = conf.ipam!.type;
  if (type === OWN) await ipamGc(args, conf);
  else await delegate(type, conf, args, { command: 'GC' });
}

export async function ipamReady(args: CmdArgs, conf: NetConf): Promise<void> {
  const type = conf.ipam!.type;
  if (type === OWN) await ipamStatus(args, conf);
  else await delegate(type, conf, args, { command: 'STATUS' });
}
