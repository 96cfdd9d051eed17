// Extra match arguments from a config (portmap's conditionsV4/V6) go into generated rules. They are
// an argument list, never a shell string, and only matches: anything that could change the command,
// the table or the target of the rule they are placed in is refused, and so is anything that could
// break out of its line in an iptables-restore batch.
import { CniError, ErrorCode } from '../cni/errors.js';
import { validateInterfaceName } from '../cni/validate.js';

/** Long options that name a command, a table, a target, or a global flag of the iptables binary. */
const FORBIDDEN_LONG = [
  '--append', '--check', '--delete', '--delete-chain', '--insert', '--replace', '--list', '--list-rules', '--flush', '--zero',
  '--new-chain', '--policy', '--rename-chain', '--table', '--jump', '--goto', '--wait', '--wait-interval', '--help', '--version',
  '--modprobe', '--line-numbers', '--numeric', '--exact', '--verbose',
];
/** Short options that take a value (the value may be attached: -s10.0.0.0/8), and flags allowed alone. */
const SHORT_WITH_VALUE = /^-[sdpiom]/;
const SHORT_FLAGS = new Set(['-f']);
const MAX_ARG = 256;

/**
 * Validates a conditions list; `key` names it in errors. getopt accepts unambiguous abbreviations of
 * long options (--jum is --jump) and clustered short flags (-fj is -f -j), so a token is refused
 * when it abbreviates a forbidden long option, and single-dash tokens are limited to known matches.
 */
export function validateConditions(value: unknown, key: string): string[] {
  const bad = (why: string) => new CniError(ErrorCode.InvalidNetworkConfig, `${key}${why.startsWith('[') ? '' : ' '}${why}`);
  if (!Array.isArray(value)) throw bad('must be a list of iptables arguments, one argument per element');
  return value.map((arg: unknown, i) => {
    if (typeof arg !== 'string' || arg === '') throw bad(`[${i}] must be a non-empty string`);
    if (arg.length > MAX_ARG) throw bad(`[${i}] is longer than ${MAX_ARG} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(arg)) throw bad(`[${i}] contains a control character`);
    if (arg.startsWith('--')) {
      const name = arg.split('=')[0]!;
      const hit = FORBIDDEN_LONG.find((opt) => name.length >= 3 && opt.startsWith(name));
      if (hit) throw bad(`[${i}] ${JSON.stringify(arg)} is not a match argument (${hit} changes the command, table or target)`);
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d+$/.test(arg)) {
      if (!SHORT_FLAGS.has(arg) && !SHORT_WITH_VALUE.test(arg)) {
        throw bad(`[${i}] ${JSON.stringify(arg)} is not a match argument (allowed short options: -s -d -p -i -o -m -f)`);
      }
    }
    return arg;
  });
}

/** An interface name that becomes an -i/-o value: a valid name that iptables cannot read as an option. */
export function validateInterfaceArg(name: string, what: string): string {
  validateInterfaceName(name, what);
  if (name.startsWith('-') || name.startsWith('!')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${what} ${JSON.stringify(name)} cannot be used in firewall rules: it starts with '${name[0]}'`);
  }
  return name;
}
