// `container` (Docker's --network container:NAME): join another container's namespace, which its
// owner's attachment already networked. ADD changes nothing and reports what is there; DEL never
// tears the owner's network down.
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs, Plugin } from '../cni/skel.js';
import type { Result } from '../cni/types.js';
import { withRtnl } from '../netlink/index.js';
import { openContainerNs } from '../plugins/shared/container-ns.js';
import { describeNetwork } from './describe.js';

async function networkOf(args: CmdArgs): Promise<Result> {
  const ns = openContainerNs(args);
  try {
    const result = await withRtnl(ns, (rtnl) => describeNetwork(rtnl, args.netns));
    if (!result.ips?.length) {
      throw new CniError(
        ErrorCode.NoNetwork,
        `container network mode: ${args.netns} has no network (no interface with an address besides lo); start the container whose network is to be shared first`,
      );
    }
    return result;
  } finally {
    ns.close();
  }
}

export const containerPlugin: Plugin = {
  parseConfig: (conf) => conf,
  add: networkOf,
  async del() {
    // The namespace belongs to the container that owns the network.
  },
  async check(args) {
    await networkOf(args);
  },
};
