import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../tuning/plugin.js')).tuningPlugin, 'ctnet tuning (chained): sysctls and link settings of the container interface, restored on DEL');
