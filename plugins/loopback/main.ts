import { runPlugin } from '../../cni/skel.js';
import { loopbackPlugin } from '../../modes/loopback.js';

runPlugin(loopbackPlugin, 'ctnet loopback: brings lo up in the container');
