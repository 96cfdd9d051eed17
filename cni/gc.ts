// GC's input, once for every plugin: the runtime's list of attachments still in use.
import { CniError, ErrorCode } from './errors.js';
import type { Attachment, NetConf } from './types.js';

/**
 * The spec (1.1) puts `cni.dev/valid-attachments` at the top level of the GC config, as libcni
 * sends it; the same key (or the older `cni.dev/attachments`) under runtimeConfig is accepted too.
 * Undefined when the runtime sent none: then GC must touch nothing, since it said nothing about
 * what is in use. An empty list is meaningful: nothing is.
 */
export function validAttachments(conf: NetConf): Attachment[] | undefined {
  const candidates: Array<[string, unknown]> = [
    ['cni.dev/valid-attachments', conf['cni.dev/valid-attachments']],
    ['runtimeConfig["cni.dev/valid-attachments"]', conf.runtimeConfig?.['cni.dev/valid-attachments']],
    ['runtimeConfig["cni.dev/attachments"]', conf.runtimeConfig?.['cni.dev/attachments']],
  ];
  const found = candidates.find(([, value]) => value !== undefined && value !== null);
  if (!found) return undefined;
  const [key, raw] = found;
  const ok = Array.isArray(raw) && raw.every((a) => a && typeof a === 'object' && typeof a.containerID === 'string' && typeof a.ifname === 'string');
  if (!ok) throw new CniError(ErrorCode.InvalidNetworkConfig, `${key} must be a list of {"containerID", "ifname"} objects`);
  return (raw as Attachment[]).map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
}
