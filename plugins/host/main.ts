import { runPlugin } from '../../cni/skel.js';
import { hostPlugin } from '../../modes/host.js';

runPlugin(hostPlugin, 'ctnet host (--network host): the container shares the host network namespace');
