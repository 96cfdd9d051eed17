// host-local: allocates addresses from ranges, recorded in files under the data dir (ipam/).
import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../ipam/plugin.js')).hostLocalPlugin, 'ctnet host-local IPAM');
