// The naming rules libcni and the reference skel enforce on container ids, network names and
// interface names, with messages that tell the user what to change.
import { CniError, ErrorCode } from './errors.js';

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** IFNAMSIZ is 16 bytes including the terminating NUL. */
export const MAX_IFNAME_BYTES = 15;

export function validateContainerId(id: string | undefined): void {
  if (!id) throw new CniError(ErrorCode.UnknownContainer, 'CNI_CONTAINERID is missing');
  if (!NAME_PATTERN.test(id)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_CONTAINERID ${JSON.stringify(id)} has invalid characters: use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
}

export function validateNetworkName(name: unknown): void {
  if (typeof name !== 'string' || name === '') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'network config has no "name"');
  }
  if (!NAME_PATTERN.test(name)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `network name ${JSON.stringify(name)} has invalid characters: use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
}

export function validateInterfaceName(name: string | undefined, what = 'CNI_IFNAME'): void {
  const fail = (why: string) => new CniError(ErrorCode.InvalidEnvironment, `${what} ${JSON.stringify(name ?? '')} is invalid: ${why}`);
  if (!name) throw fail('the interface name is empty');
  if (Buffer.byteLength(name) > MAX_IFNAME_BYTES) throw fail(`interface names are at most ${MAX_IFNAME_BYTES} bytes`);
  if (name === '.' || name === '..') throw fail("'.' and '..' are not interface names");
  if (/[/:\s]/u.test(name)) throw fail("interface names may not contain '/', ':' or whitespace");
}
