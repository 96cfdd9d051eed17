// The bridge plugin: config parsing and the five commands.
import type { Plugin } from '../cni/skel.js';
import { bridgeAdd } from './add.js';
import { bridgeCheck } from './check.js';
import { parseBridgeConfig, type BridgeConf } from './config.js';
import { bridgeDel } from './del.js';
import { bridgeGc } from './gc.js';
import { runIpam } from './ipam.js';

export const bridgePlugin: Plugin<BridgeConf> = {
  knownArgs: ['IP', 'MAC'],
  parseConfig: parseBridgeConfig,
  add: bridgeAdd,
  del: bridgeDel,
  check: bridgeCheck,
  gc: bridgeGc,
  async status(args, conf) {
    if (conf.ipam) await runIpam('STATUS', args, conf);
  },
};
