import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../modes/loopback.js')).loopbackPlugin, 'ctnet loopback: brings lo up in the container');
