// The container side of a bridge attachment: inside the container's namespace, the interface gets
// its addresses, comes up, and gets its routes (the reference ConfigureIface behaviour).
import type { IPConfig, Route } from '../cni/types.js';
import { addAddress, addRoute, setLink, writeSysctl, type NetNs, type Rtnl } from '../netlink/index.js';

export interface ContainerIface {
  ifname: string;
  ips: IPConfig[];
  routes: Route[];
  enableDad: boolean;
}

const isV6 = (cidr: string) => cidr.includes(':');

export async function configureContainer(rtnl: Rtnl, ns: NetNs, c: ContainerIface): Promise<void> {
  if (c.ips.some((ip) => isV6(ip.address))) {
    // Runtimes often create namespaces with IPv6 off; an interface given v6 addresses needs it on.
    ns.run(() => {
      writeSysctl(`net/ipv6/conf/${c.ifname}/disable_ipv6`, '0');
      if (!c.enableDad) writeSysctl(`net/ipv6/conf/${c.ifname}/accept_dad`, '0');
    });
  }
  for (const ip of c.ips) await addAddress(rtnl, c.ifname, ip.address, { nodad: !c.enableDad });
  await setLink(rtnl, c.ifname, { up: true });
  const gatewayOf = (v6: boolean) => c.ips.find((ip) => isV6(ip.address) === v6 && ip.gateway)?.gateway;
  for (const r of c.routes) {
    // A route without a gateway goes through the interface's gateway of its family, as the
    // reference plugins do.
    const gateway = r.gw ?? gatewayOf(isV6(r.dst));
    await addRoute(rtnl, { dst: r.dst, dev: c.ifname, ...(gateway ? { gateway } : {}), ...(r.priority !== undefined ? { metric: r.priority } : {}) });
  }
}
