// CNI_ARGS: "K1=V1;K2=V2". Plugins declare the keys they understand; any other key is an error
// unless the runtime sent IgnoreUnknown=1 (what libcni's LoadArgs enforces for the reference plugins).
import { CniError, ErrorCode } from './errors.js';

/** Keys every plugin accepts: the switch itself, and what Kubernetes runtimes always pass. */
const ALWAYS_KNOWN = ['IgnoreUnknown', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID'];

export function parseCniArgs(raw: string | undefined, known: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  if (!raw) return out;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(ErrorCode.InvalidEnvironment, `CNI_ARGS: invalid pair ${JSON.stringify(pair)}: expected KEY=VALUE separated by ';'`);
    }
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ignore = /^(1|true)$/i.test(out.get('IgnoreUnknown') ?? '');
  if (!ignore) {
    const unknown = [...out.keys()].filter((k) => !ALWAYS_KNOWN.includes(k) && !known.includes(k));
    if (unknown.length > 0) {
      const accepted = known.length ? `this plugin accepts ${known.join(', ')}` : 'this plugin accepts none';
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `CNI_ARGS: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (${accepted}; add IgnoreUnknown=1 to ignore unknown keys)`,
      );
    }
  }
  return out;
}
