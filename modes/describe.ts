// A namespace's network as a CNI result: what the `host` and `container` modes report, since they
// join a network that already exists instead of making one.
import type { Interface, IPConfig, Result, Route } from '../cni/types.js';
import { listAddresses, listLinks, listRoutes, MAIN_TABLE, type Rtnl } from '../netlink/index.js';

const LINK_SCOPE = 253;

/**
 * Interfaces that carry addresses (lo excluded), their global addresses, and the main table's
 * routes through them. `sandbox` is set on the interfaces when the namespace is a container's.
 */
export async function describeNetwork(rtnl: Rtnl, sandbox?: string): Promise<Result> {
  const [links, addresses, routes] = [await listLinks(rtnl), await listAddresses(rtnl), await listRoutes(rtnl, { table: MAIN_TABLE })];
  const interfaces: Interface[] = [];
  const ips: IPConfig[] = [];
  const position = new Map<number, number>();
  for (const link of links) {
    if (link.name === 'lo') continue;
    const mine = addresses.filter((a) => a.index === link.index && a.scope < LINK_SCOPE);
    if (mine.length === 0) continue;
    position.set(link.index, interfaces.length);
    interfaces.push({ name: link.name, ...(link.mac ? { mac: link.mac } : {}), mtu: link.mtu, ...(sandbox ? { sandbox } : {}) });
    for (const a of mine) {
      const gateway = routes.find((r) => r.dev === link.index && r.gateway && r.family === a.family && r.dst.endsWith('/0'))?.gateway;
      ips.push({ address: a.cidr, interface: interfaces.length - 1, ...(gateway ? { gateway } : {}) });
    }
  }
  const resultRoutes: Route[] = routes
    .filter((r) => r.dev !== undefined && position.has(r.dev) && r.type === 'unicast')
    .map((r) => ({ dst: r.dst, ...(r.gateway ? { gw: r.gateway } : {}) }));
  return { cniVersion: '1.1.0', interfaces, ips, routes: resultRoutes };
}
