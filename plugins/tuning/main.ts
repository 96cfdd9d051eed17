import { runPlugin } from '../../cni/skel.js';
import { tuningPlugin } from '../../tuning/plugin.js';

runPlugin(tuningPlugin, 'ctnet tuning (chained): sysctls and link settings of the container interface, restored on DEL');
