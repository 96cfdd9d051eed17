// Per-port bridge settings: hairpin mode (a container reaching itself through a host port mapping)
// and port isolation. They travel as IFLA_PROTINFO in an AF_BRIDGE RTM_SETLINK, and the bridge reads
// IFLA_PROTINFO as port attributes only when NLA_F_NESTED is set (without it, as a bare STP state):
// npm netlink cannot set that flag, wire.ts does.
import { linkIndex, linkLabel, type LinkRef } from './links.js';
import type { Rtnl } from './rtnl.js';
import { AF_BRIDGE, IFINFOMSG_LEN, RTM, decodeAttrs, encodeAttrs, ifinfomsg, parseIfinfomsg, u8 } from './wire.js';

const IFLA_PROTINFO = 12;
const IFLA_BRPORT_STATE = 1;
const IFLA_BRPORT_MODE = 4;
const IFLA_BRPORT_ISOLATED = 33;

const PORT_STATES = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'] as const;

export interface BridgePortSettings {
  /** Reflect frames back out of the port they came in on (IFLA_BRPORT_MODE = hairpin). */
  hairpin?: boolean;
  /** Isolated ports forward only to non-isolated ports (IFLA_BRPORT_ISOLATED). */
  isolated?: boolean;
}

export interface BridgePort {
  index: number;
  state: (typeof PORT_STATES)[number] | 'unknown';
  hairpin: boolean;
  isolated: boolean;
}

/** Changes settings of a bridge port (a link enslaved to a bridge; EOPNOTSUPP otherwise). */
export async function setBridgePort(rtnl: Rtnl, port: LinkRef, s: BridgePortSettings): Promise<void> {
  const what = [s.hairpin !== undefined && `hairpin ${s.hairpin ? 'on' : 'off'}`, s.isolated !== undefined && `isolated ${s.isolated ? 'on' : 'off'}`];
  const op = [`set bridge port ${linkLabel(port)}`, ...what.filter(Boolean)].join(' ');
  // The AF_BRIDGE handler looks ports up by index only.
  const index = await linkIndex(rtnl, port, op);
  const protinfo = encodeAttrs([
    [
      IFLA_PROTINFO,
      [s.hairpin !== undefined && [IFLA_BRPORT_MODE, u8(s.hairpin ? 1 : 0)], s.isolated !== undefined && [IFLA_BRPORT_ISOLATED, u8(s.isolated ? 1 : 0)]],
    ],
  ]);
  await rtnl.request(op, RTM.SETLINK, [ifinfomsg({ family: AF_BRIDGE, index }), protinfo]);
}

/** A bridge port's settings, or null when the link is not a bridge port. */
export async function getBridgePort(rtnl: Rtnl, port: LinkRef): Promise<BridgePort | null> {
  const op = `get bridge port ${linkLabel(port)}`;
  const index = await linkIndex(rtnl, port, op);
  // Only a dump (not a single get) of the AF_BRIDGE family carries the port attributes.
  const replies = await rtnl.dump(op, RTM.GETLINK, [ifinfomsg({ family: AF_BRIDGE })]);
  for (const m of replies) {
    if (parseIfinfomsg(m.data).index !== index) continue;
    const protinfo = decodeAttrs(m.data.subarray(IFINFOMSG_LEN)).get(IFLA_PROTINFO);
    if (!protinfo) return null;
    const a = decodeAttrs(protinfo);
    return {
      index,
      state: PORT_STATES[a.get(IFLA_BRPORT_STATE)?.[0] ?? -1] ?? 'unknown',
      hairpin: a.get(IFLA_BRPORT_MODE)?.[0] === 1,
      isolated: a.get(IFLA_BRPORT_ISOLATED)?.[0] === 1,
    };
  }
  return null;
}
