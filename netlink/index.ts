// ctnet's netlink layer: namespaces, rtnetlink sockets bound to them, and the link, address, route
// and bridge-port operations a plugin needs. Knows nothing of CNI.
export * from './addresses.js';
export * from './bridge-port.js';
export * from './devconf.js';
export * from './errors.js';
export { formatCidr, formatIp, formatMac, networkOf, parseCidr, parseIp, parseMac, type Cidr, type Family, type Ip } from './ip.js';
export * from './links.js';
export * from './netns.js';
export * from './routes.js';
export * from './rtnl.js';
export * from './sysctl.js';
