// ctnet's host-local IPAM as a library: the commands the bridge plugin calls in-process (no extra
// Node start), and the pieces other code may want (config validation, the store's location).
export { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from './operations.js';
export { DEFAULT_DATA_DIR, type IpamConfig, loadIpamConfig } from './config.js';
export { hostLocalPlugin } from './plugin.js';
