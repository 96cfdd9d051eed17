// The host-local plugin: the IPAM commands behind the CNI skeleton.
import type { Plugin } from '../cni/skel.js';
import { loadIpamConfig } from './config.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from './operations.js';

export const hostLocalPlugin: Plugin = {
  // IP=<addr>[,<addr>...]: specific addresses for this attachment.
  knownArgs: ['IP'],
  parseConfig(conf) {
    // Fail early, before any command touches the store; the commands re-derive the (cheap) config.
    loadIpamConfig(conf);
    return conf;
  },
  add: ipamAdd,
  del: ipamDel,
  check: ipamCheck,
  gc: ipamGc,
  status: ipamStatus,
};
