// IP addresses on links, IPv4 and IPv6, in the namespace of the Rtnl given. Adding an address that
// is already there fails with code EEXIST; deleting one that is not, with EADDRNOTAVAIL.
import { isNetlinkError } from './errors.js';
import { broadcastOf, formatCidr, formatIp, parseCidr, type Family } from './ip.js';
import { linkIndex, linkLabel, type LinkRef } from './links.js';
import type { Rtnl } from './rtnl.js';
import { AF_INET, AF_INET6, AF_UNSPEC, IFADDRMSG_LEN, NLM_F, RTM, attrU32, decodeAttrs, encodeAttrs, ifaddrmsg, parseIfaddrmsg, u32 } from './wire.js';

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;

const IFA_F = { secondary: 0x01, nodad: 0x02, dadfailed: 0x08, deprecated: 0x20, tentative: 0x40, permanent: 0x80 } as const;

export interface Address {
  /** Index of the link carrying it. */
  index: number;
  family: Family;
  /** "10.1.0.1" or "fd00::1". */
  address: string;
  prefix: number;
  /** "10.1.0.1/24". */
  cidr: string;
  /** 0 universe, 253 link, 254 host. */
  scope: number;
  flags: { [K in keyof typeof IFA_F]: boolean };
}

export interface AddAddressOptions {
  /** IPv6: skip duplicate address detection, so the address is usable at once (IFA_F_NODAD). */
  nodad?: boolean;
}

/** Builds the request for an address; IPv4 gets a broadcast address as the reference plugins set it. */
function addressMessage(index: number, cidr: string, flags: number): Buffer[] {
  const c = parseCidr(cidr);
  const v4 = c.family === 4;
  return [
    ifaddrmsg({ family: v4 ? AF_INET : AF_INET6, prefixlen: c.prefix, flags, scope: 0, index }),
    encodeAttrs([
      [IFA_LOCAL, c.bytes],
      [IFA_ADDRESS, c.bytes],
      v4 && c.prefix < 31 && [IFA_BROADCAST, broadcastOf(c)],
      flags !== 0 && [IFA_FLAGS, u32(flags)],
    ]),
  ];
}

/** Adds "addr/prefix" to a link. EEXIST (code) when the link already has it. */
export async function addAddress(rtnl: Rtnl, link: LinkRef, cidr: string, opts: AddAddressOptions = {}): Promise<void> {
  const op = `add address ${cidr} to ${linkLabel(link)}`;
  const index = await linkIndex(rtnl, link, op);
  await rtnl.request(op, RTM.NEWADDR, addressMessage(index, cidr, opts.nodad ? IFA_F.nodad : 0), NLM_F.CREATE | NLM_F.EXCL);
}

/** Removes "addr/prefix" from a link; false when absent and ignoreMissing is set (else EADDRNOTAVAIL). */
export async function deleteAddress(rtnl: Rtnl, link: LinkRef, cidr: string, opts: { ignoreMissing?: boolean } = {}): Promise<boolean> {
  const op = `delete address ${cidr} from ${linkLabel(link)}`;
  const index = await linkIndex(rtnl, link, op);
  try {
    await rtnl.request(op, RTM.DELADDR, addressMessage(index, cidr, 0));
    return true;
  } catch (err) {
    if (opts.ignoreMissing && isNetlinkError(err, 'EADDRNOTAVAIL')) return false;
    throw err;
  }
}

/** Addresses in the namespace, optionally only of one link and/or one family. */
export async function listAddresses(rtnl: Rtnl, filter: { link?: LinkRef; family?: Family } = {}): Promise<Address[]> {
  const op = `list addresses${filter.link !== undefined ? ` of ${linkLabel(filter.link)}` : ''}`;
  const index = filter.link === undefined ? undefined : await linkIndex(rtnl, filter.link, op);
  const family = filter.family === undefined ? AF_UNSPEC : filter.family === 4 ? AF_INET : AF_INET6;
  const replies = await rtnl.dump(op, RTM.GETADDR, [ifaddrmsg({ family, prefixlen: 0, flags: 0, scope: 0, index: 0 })]);
  const out: Address[] = [];
  for (const m of replies) {
    const msg = parseIfaddrmsg(m.data);
    if (index !== undefined && msg.index !== index) continue;
    const a = decodeAttrs(m.data.subarray(IFADDRMSG_LEN));
    // IFA_LOCAL is the local address; IFA_ADDRESS is the peer on point-to-point links (and IPv6 has only it).
    const bytes = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
    if (!bytes || (bytes.length !== 4 && bytes.length !== 16)) continue;
    // IFA_FLAGS, when present, carries all the flags (the header's field holds only the low 8).
    const bits = attrU32(a, IFA_FLAGS) ?? msg.flags;
    out.push({
      index: msg.index,
      family: bytes.length === 4 ? 4 : 6,
      address: formatIp(bytes),
      prefix: msg.prefixlen,
      cidr: formatCidr(bytes, msg.prefixlen),
      scope: msg.scope,
      flags: Object.fromEntries(Object.entries(IFA_F).map(([k, bit]) => [k, (bits & bit) !== 0])) as Address['flags'],
    });
  }
  return out;
}
