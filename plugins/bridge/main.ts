import { bridgePlugin } from '../../bridge/plugin.js';
import { runPlugin } from '../../cni/skel.js';

runPlugin(bridgePlugin, 'ctnet bridge: a docker0-like bridge with veth pairs, addresses from IPAM, masquerade and published ports');
