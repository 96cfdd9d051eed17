// host-local: allocates addresses from ranges, recorded in files under the data dir (ipam/).
import { runPlugin } from '../../cni/skel.js';
import { hostLocalPlugin } from '../../ipam/plugin.js';

runPlugin(hostLocalPlugin, 'ctnet host-local IPAM');
