// Config validation through valibot schemas, turning the first problems into one CNI error
// (code 7) that names each offending key, e.g. `invalid network config: "mtu": must be an integer`.
import * as v from 'valibot';
import { CniError, ErrorCode } from './errors.js';

export function parseConfigWith<S extends v.GenericSchema>(schema: S, input: unknown, what = 'network config'): v.InferOutput<S> {
  const r = v.safeParse(schema, input);
  if (r.success) return r.output;
  const problems = r.issues.slice(0, 3).map((issue) => {
    const path = v.getDotPath(issue);
    return path ? `"${path}": ${issue.message}` : issue.message;
  });
  throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${what}: ${problems.join('; ')}`);
}

/** Keys a reference plugin understands but ctnet does not implement: refusing beats ignoring. */
export function refuseUnsupported(conf: Record<string, unknown>, keys: readonly string[], plugin: string): void {
  for (const key of keys) {
    const value = conf[key];
    if (value === undefined || value === null || value === false || (Array.isArray(value) && value.length === 0)) continue;
    throw new CniError(ErrorCode.UnsupportedField, `${plugin}: config key "${key}" is not supported by ctnet; remove it or use the reference plugin`);
  }
}
