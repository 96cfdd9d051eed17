import { runPlugin } from '../../cni/skel.js';
import { portmapPlugin } from '../../nat/portmap-plugin.js';

runPlugin(portmapPlugin, 'ctnet portmap (chained): publishes container ports on the host (DNAT, hairpin, localhost), refusing host ports already taken');
