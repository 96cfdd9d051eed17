import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../modes/loopback.js')).loopbackPlugin, 'ctnet none (--network none): the container gets only lo');
