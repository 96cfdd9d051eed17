import { runPlugin } from '../../cni/skel.js';
import { loopbackPlugin } from '../../modes/loopback.js';

runPlugin(loopbackPlugin, 'ctnet none (--network none): the container gets only lo');
