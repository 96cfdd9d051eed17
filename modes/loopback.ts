// `loopback` (the reference plugin's name) and `none` (Docker's --network none): the container
// gets only `lo`, up, with 127.0.0.1/8 and ::1/128.
import { CniError, ErrorCode } from '../cni/errors.js';
import type { Plugin } from '../cni/skel.js';
import type { Result } from '../cni/types.js';
import { listAddresses, requireLink, setLink, withRtnl } from '../netlink/index.js';
import { openContainerNs, openContainerNsForDel } from '../plugins/shared/container-ns.js';

export const loopbackPlugin: Plugin = {
  parseConfig: (conf) => conf,

  async add(args) {
    const ns = openContainerNs(args);
    try {
      return await withRtnl(ns, async (rtnl) => {
        await setLink(rtnl, 'lo', { up: true });
        const addrs = await listAddresses(rtnl, { link: 'lo' });
        const result: Result = {
          cniVersion: '1.1.0',
          interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: args.netns }],
          // IPv6 may be disabled in the namespace: report what the kernel really configured.
          ips: addrs.map((a) => ({ address: a.cidr, interface: 0 })),
        };
        return result;
      });
    } finally {
      ns.close();
    }
  },

  async del(args) {
    const ns = openContainerNsForDel(args);
    if (!ns) return;
    try {
      await withRtnl(ns, (rtnl) => setLink(rtnl, 'lo', { up: false }));
    } finally {
      ns.close();
    }
  },

  async check(args, conf) {
    const ns = openContainerNs(args);
    try {
      await withRtnl(ns, async (rtnl) => {
        const lo = await requireLink(rtnl, 'lo');
        if (!lo.up) throw new CniError(ErrorCode.CheckFailed, `lo is down in ${args.netns}`);
        const present = new Set((await listAddresses(rtnl, { link: 'lo' })).map((a) => a.cidr));
        for (const ip of conf.prevResult?.ips ?? []) {
          if (!present.has(ip.address)) throw new CniError(ErrorCode.CheckFailed, `lo in ${args.netns} lacks ${ip.address} from prevResult`);
        }
      });
    } finally {
      ns.close();
    }
  },
};
