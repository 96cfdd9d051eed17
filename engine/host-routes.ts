// The host's route destinations, which automatic subnets must avoid (a network on 10.0.0.0/8 when the
// host reaches its LAN there would cut the host off it): the main table of this process's network
// namespace, both families, through netlink. Default routes come along; the subnet chooser ignores them.
import { listRoutes, originalNetNs, withRtnl } from '../netlink/index.js';

export async function hostRoutes(): Promise<string[]> {
  const routes = await withRtnl(originalNetNs(), (rtnl) => listRoutes(rtnl));
  return routes.map((r) => r.dst);
}
