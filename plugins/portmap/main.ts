import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../nat/portmap-plugin.js')).portmapPlugin, 'ctnet portmap (chained): publishes container ports on the host (DNAT, hairpin, localhost), refusing host ports already taken');
