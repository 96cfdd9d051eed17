// Addresses for the bridge: ctnet's own host-local runs in-process (one Node process per ADD, not
// two); any other IPAM type is a plugin on CNI_PATH, run as the reference bridge runs it.
import { delegate } from '../cni/delegate.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs, Command } from '../cni/skel.js';
import type { NetConf, Result } from '../cni/types.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../ipam/index.js';

const IN_PROCESS: Record<Command, (args: CmdArgs, conf: NetConf) => Promise<Result | void>> = {
  ADD: ipamAdd,
  DEL: ipamDel,
  CHECK: ipamCheck,
  GC: ipamGc,
  STATUS: ipamStatus,
};

/** Runs one IPAM command for the bridge's config (GC and STATUS only reach here for 1.1.0 configs). */
export async function runIpam(command: Command, args: CmdArgs, conf: NetConf): Promise<Result | void> {
  const type = conf.ipam!.type;
  return type === 'host-local' ? IN_PROCESS[command](args, conf) : delegate(type, conf, args, { command });
}

export async function ipamAllocate(args: CmdArgs, conf: NetConf): Promise<Result> {
  const result = await runIpam('ADD', args, conf);
  if (!result?.ips?.length) throw new CniError(ErrorCode.InvalidNetworkConfig, `IPAM plugin ${conf.ipam!.type} returned no IP configuration`);
  return result;
}
