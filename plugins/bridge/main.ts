import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../bridge/plugin.js')).bridgePlugin, 'ctnet bridge: a docker0-like bridge with veth pairs, addresses from IPAM, masquerade and published ports');
