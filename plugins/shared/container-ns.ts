// Opening the container's namespace from CNI_NETNS, with the spec error a runtime can act on.
import { statSync } from 'node:fs';
import { CniError, ErrorCode } from '../../cni/errors.js';
import type { CmdArgs } from '../../cni/skel.js';
import { NetNs, NetNsError, originalNetNs } from '../../netlink/netns.js';

function asCniError(err: unknown): unknown {
  if (!(err instanceof NetNsError)) return err;
  const code = err.code === 'ENOENT' ? ErrorCode.NamespaceNotFound : ErrorCode.InvalidEnvironment;
  return new CniError(code, `CNI_NETNS: ${err.message}`);
}

function refuseHost(ns: NetNs): NetNs {
  if (!ns.isSame(originalNetNs())) return ns;
  ns.close();
  // Configuring "the container" here would rename, address or delete the host's own interfaces.
  throw new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS ${ns.path} is the host's own network namespace, not a container's`);
}

/** The container namespace for ADD and CHECK: it must exist, be a network namespace, and not be the host's. */
export function openContainerNs(args: CmdArgs): NetNs {
  let ns: NetNs;
  try {
    ns = NetNs.open(args.netns);
  } catch (err) {
    throw asCniError(err);
  }
  return refuseHost(ns);
}

/**
 * The container namespace for DEL, or null when there is nothing left to clean inside it: no
 * CNI_NETNS, the path is gone, or it is the empty file a runtime leaves after unmounting the
 * namespace. A directory or another kind of file is still an error.
 */
export function openContainerNsForDel(args: CmdArgs): NetNs | null {
  if (!args.netns) return null;
  let ns: NetNs;
  try {
    ns = NetNs.open(args.netns);
  } catch (err) {
    if (err instanceof NetNsError && err.code === 'ENOENT') return null;
    if (err instanceof NetNsError && err.code === 'ENOTNETNS' && isEmptyFile(args.netns)) return null;
    throw asCniError(err);
  }
  return refuseHost(ns);
}

function isEmptyFile(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && st.size === 0;
  } catch {
    return false;
  }
}
