import { runPlugin } from '../../cni/skel.js';
import { containerPlugin } from '../../modes/container.js';

runPlugin(containerPlugin, "ctnet container (--network container:NAME): join another container's network namespace");
