// resolv.conf(5) to the CNI result's DNS section (the `resolvConf` IPAM option).
import { readFileSync } from 'node:fs';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { DNS } from '../cni/types.js';

/** Parses resolv.conf text: nameserver, domain, search and options lines; comments start with # or ;. */
export function parseResolvConf(text: string): DNS {
  const dns: Required<DNS> = { nameservers: [], domain: '', search: [], options: [] };
  for (const line of text.split('\n')) {
    const [keyword, ...values] = line.replace(/[#;].*/, '').trim().split(/\s+/);
    if (!keyword || values.length === 0) continue;
    switch (keyword) {
      case 'nameserver':
        dns.nameservers.push(values[0] as string);
        break;
      case 'domain':
        dns.domain = values[0] as string;
        break;
      case 'search':
        dns.search.push(...values);
        break;
      case 'options':
        dns.options.push(...values);
        break;
    }
  }
  // Leave out what the file did not set, so an empty DNS section stays empty.
  return {
    ...(dns.nameservers.length ? { nameservers: dns.nameservers } : {}),
    ...(dns.domain ? { domain: dns.domain } : {}),
    ...(dns.search.length ? { search: dns.search } : {}),
    ...(dns.options.length ? { options: dns.options } : {}),
  };
}

export function readResolvConf(path: string): DNS {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CniError(ErrorCode.IOFailure, `cannot read resolvConf ${path}: ${(err as Error).message}`);
  }
  return parseResolvConf(text);
}
