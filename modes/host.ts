// `host` (Docker's --network host): the container shares the host's namespace, so ADD changes
// nothing and reports the host's network. CNI_NETNS must be the host's own namespace: anything
// else means the runtime made a separate namespace that this mode would leave unnetworked.
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs, Plugin } from '../cni/skel.js';
import { NetNs, NetNsError, originalNetNs, withRtnl } from '../netlink/index.js';
import { describeNetwork } from './describe.js';

function requireHostNs(args: CmdArgs): void {
  let ns: NetNs;
  try {
    ns = NetNs.open(args.netns);
  } catch (err) {
    if (err instanceof NetNsError) throw new CniError(err.code === 'ENOENT' ? ErrorCode.NamespaceNotFound : ErrorCode.InvalidEnvironment, `CNI_NETNS: ${err.message}`);
    throw err;
  }
  const same = ns.isSame(originalNetNs());
  ns.close();
  if (!same) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `host network mode: CNI_NETNS ${args.netns} is not the host's network namespace; run the container in the host's namespace (e.g. CNI_NETNS=/proc/1/ns/net)`,
    );
  }
}

export const hostPlugin: Plugin = {
  parseConfig: (conf) => conf,

  async add(args, conf) {
    requireHostNs(args);
    if ((conf.runtimeConfig?.portMappings ?? []).length > 0) {
      // Docker's own words for the same situation.
      process.stderr.write('WARNING: Published ports are discarded when using host network mode\n');
    }
    return withRtnl(originalNetNs(), (rtnl) => describeNetwork(rtnl));
  },

  async del() {
    // Nothing was made, so nothing is torn down; the host's network is not ours to touch.
  },

  async check(args) {
    requireHostNs(args);
  },
};
