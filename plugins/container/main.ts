import { runPlugin } from '../../cni/skel.js';

runPlugin(async () => (await import('../../modes/container.js')).containerPlugin, "ctnet container (--network container:NAME): join another container's network namespace");
