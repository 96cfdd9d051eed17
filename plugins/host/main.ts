import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../modes/host.js')).hostPlugin, 'ctnet host (--network host): the container shares the host network namespace');
