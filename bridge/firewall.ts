// The bridge's firewall needs (masquerade, published ports, isolation), expressed through nat/.
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs } from '../cni/skel.js';
import type { IPConfig } from '../cni/types.js';
import type { BridgeConf } from './config.js';

const wantsRules = (conf: BridgeConf) => conf.ipMasq || conf.portMappings.length > 0 || !conf.icc || conf.internal;

export async function setUpFirewall(_args: CmdArgs, conf: BridgeConf, _ips: IPConfig[]): Promise<void> {
  if (!wantsRules(conf)) return;
  throw new CniError(ErrorCode.UnsupportedField, 'bridge: ipMasq, port mappings, icc and internal need the nat/ layer, which is not wired in yet');
}

export async function tearDownFirewall(_args: CmdArgs, _conf: BridgeConf): Promise<void> {}
export async function collectFirewall(_args: CmdArgs, _conf: BridgeConf): Promise<void> {}
