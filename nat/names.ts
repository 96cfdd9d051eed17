// Names derived from an attachment: its key (a hash of owner, network, container id and ifname),
// the per-attachment chain names built from it, and the comment every one of its rules carries, so
// teardown and GC find them from recorded identity alone, interfaces or no interfaces.
// @noble/hashes, not node:crypto: loading node:crypto costs a plugin process ~7 ms of start-up.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { AttachmentRef } from './types.js';

export const DEFAULT_OWNER = 'ctnet';
const OWNER = /^[a-z0-9][a-z0-9-]{0,19}$/;
/** iptables chain names hold at most 28 characters. */
export const MAX_CHAIN_NAME = 28;
/** xt_comment keeps at most 255 characters. */
const MAX_COMMENT = 255;

export function ownerOf(ref: AttachmentRef): string {
  const owner = ref.owner ?? DEFAULT_OWNER;
  if (!OWNER.test(owner)) throw new CniError(ErrorCode.Internal, `invalid firewall rule owner ${JSON.stringify(owner)}`);
  return owner;
}

/** 16 hex characters (64 bits) of SHA-256 over the attachment's identity. */
export function attachmentKey(ref: AttachmentRef): string {
  return bytesToHex(sha256(utf8ToBytes([ownerOf(ref), ref.network, ref.containerId, ref.ifname].join('\n')))).slice(0, 16);
}

/** A chain owned by one attachment: `<prefix>-<key>`, within the 28-character limit. */
export function attachmentChain(prefix: string, key: string): string {
  const name = `${prefix}-${key}`;
  if (name.length > MAX_CHAIN_NAME) throw new CniError(ErrorCode.Internal, `chain name ${name} is longer than ${MAX_CHAIN_NAME} characters`);
  return name;
}

/** The key an attachment-owned chain name ends with, if it is one. */
export function keyOfChain(name: string): string | undefined {
  return /-([0-9a-f]{16})$/.exec(name)?.[1];
}

/**
 * `ctnet:<key> <owner> net=<network> id=<container id> if=<ifname>`. The key leads, so a rule is
 * attributed by its first token alone even if a very long name was cut at xt_comment's limit; the
 * rest is for people (and GC's network scope). An interface name may hold quotes or backslashes:
 * they become '_' (the key is authoritative).
 */
export function ruleTag(ref: AttachmentRef): string {
  const ifname = ref.ifname.replace(/[^\w.@%+-]/g, '_');
  return `ctnet:${attachmentKey(ref)} ${ownerOf(ref)} net=${ref.network} id=${ref.containerId} if=${ifname}`.slice(0, MAX_COMMENT);
}

export interface ParsedTag {
  key: string;
  owner: string;
  network: string;
}

export function parseTag(comment: string): ParsedTag | undefined {
  const m = /^ctnet:([0-9a-f]{16}) ([a-z0-9-]+) net=(\S+)/.exec(comment);
  return m ? { key: m[1]!, owner: m[2]!, network: m[3]! } : undefined;
}
