// `portmap` (chained): publishes the container's ports from runtimeConfig.portMappings (the
// portMappings capability) on the host, with the reference plugin's config keys (snat, masqAll,
// markMasqBit, externalSetMarkChain, conditionsV4/V6). Unlike the reference, a host port another
// container holds is refused (code 102) rather than silently taken over, accept rules let the
// published traffic through a FORWARD DROP policy, and DEL and GC work from recorded state.
import * as v from 'valibot';
import { CniError, ErrorCode } from '../cni/errors.js';
import { parseConfigWith } from '../cni/schema.js';
import type { CmdArgs, Plugin } from '../cni/skel.js';
import type { NetConf } from '../cni/types.js';
import { containerAddresses, firstPerFamily, hostInterface } from './cni-input.js';
import { validAttachments } from '../cni/gc.js';
import { validateConditions } from './conditions.js';
import { IptablesBackend } from './iptables-backend.js';
import { normalizeMapping } from './port-mappings.js';
import type { ContainerSpec, PortMapping } from './types.js';

export const PORTMAP_OWNER = 'portmap';

const conditions = v.optional(v.nullable(v.unknown()));

const schema = v.looseObject({
  snat: v.optional(v.boolean('must be true or false'), true),
  masqAll: v.optional(v.boolean('must be true or false'), false),
  markMasqBit: v.optional(v.pipe(v.number('must be a number'), v.integer('must be an integer'), v.minValue(0, 'must be from 0 to 31'), v.maxValue(31, 'must be from 0 to 31'))),
  externalSetMarkChain: v.optional(v.pipe(v.string('must be a string'), v.regex(/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,27}$/, 'must be an iptables chain name'))),
  conditionsV4: conditions,
  conditionsV6: conditions,
  backend: v.optional(v.string('must be a string')),
  // ctnet's own keys
  /** The host-side interface (default: the first host interface of prevResult, i.e. the bridge). */
  bridge: v.optional(v.string('must be a string')),
  /** Accept published traffic in FORWARD, so a DROP policy does not block it (default true). */
  forwardAccept: v.optional(v.boolean('must be true or false'), true),
  dataDir: v.optional(v.pipe(v.string('must be a string'), v.nonEmpty('must not be empty'))),
});

export interface PortmapConf extends NetConf {
  snat: boolean;
  masqAll: boolean;
  markMasqBit?: number;
  externalSetMarkChain?: string;
  conditionsV4?: string[];
  conditionsV6?: string[];
  backend?: string;
  bridge?: string;
  forwardAccept: boolean;
  dataDir?: string;
  /** runtimeConfig.portMappings, validated. */
  mappings: PortMapping[];
}

export function parsePortmapConfig(raw: NetConf): PortmapConf {
  const { conditionsV4, conditionsV6, ...parsed } = parseConfigWith(schema, raw, 'portmap config');
  // Podman 4 writes "backend": ""; the reference plugins read it as the default.
  if (parsed.backend !== undefined && parsed.backend !== '' && parsed.backend !== 'iptables') {
    throw new CniError(ErrorCode.UnsupportedField, `portmap: backend ${JSON.stringify(parsed.backend)} is not supported by ctnet (only "iptables")`);
  }
  if (parsed.markMasqBit !== undefined && parsed.externalSetMarkChain !== undefined) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'portmap: externalSetMarkChain and markMasqBit cannot both be set');
  }
  const entries = raw.runtimeConfig?.portMappings ?? [];
  if (!Array.isArray(entries)) throw new CniError(ErrorCode.InvalidNetworkConfig, 'portmap: runtimeConfig.portMappings must be a list');
  const { conditionsV4: _rawV4, conditionsV6: _rawV6, ...rest } = raw;
  return {
    ...rest,
    ...parsed,
    ...(conditionsV4 !== undefined && conditionsV4 !== null ? { conditionsV4: validateConditions(conditionsV4, 'portmap: conditionsV4') } : {}),
    ...(conditionsV6 !== undefined && conditionsV6 !== null ? { conditionsV6: validateConditions(conditionsV6, 'portmap: conditionsV6') } : {}),
    mappings: entries.map((m, i) => normalizeMapping(m, `portmap: runtimeConfig.portMappings[${i}]`)),
  };
}

const backendFor = (conf: PortmapConf) => new IptablesBackend({ dataDir: conf.dataDir, log: (m) => process.stderr.write(`portmap: ${m}\n`) });

function requirePrevResult(conf: PortmapConf) {
  if (!conf.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, 'portmap must be chained after a plugin that reports the container addresses (no prevResult)');
  return conf.prevResult;
}

/** The attachment as the backend sees it; undefined when there is nothing to publish. */
function containerSpec(args: CmdArgs, conf: PortmapConf): ContainerSpec | undefined {
  const prev = requirePrevResult(conf);
  const ips = firstPerFamily(containerAddresses(prev, args.ifname));
  if (conf.mappings.length === 0 || ips.length === 0) return undefined;
  const bridge = conf.bridge ?? hostInterface(prev);
  return {
    network: conf.name,
    containerId: args.containerId,
    ifname: args.ifname,
    owner: PORTMAP_OWNER,
    ...(bridge ? { bridge } : {}),
    ips,
    portMappings: conf.mappings,
    forward: conf.forwardAccept ? 'ports' : 'none',
    nat: {
      snat: conf.snat,
      masqAll: conf.masqAll,
      ...(conf.markMasqBit !== undefined ? { markMasqBit: conf.markMasqBit } : {}),
      ...(conf.externalSetMarkChain !== undefined ? { externalSetMarkChain: conf.externalSetMarkChain } : {}),
      ...(conf.conditionsV4 ? { conditionsV4: conf.conditionsV4 } : {}),
      ...(conf.conditionsV6 ? { conditionsV6: conf.conditionsV6 } : {}),
    },
  };
}

export const portmapPlugin: Plugin<PortmapConf> = {
  parseConfig: parsePortmapConfig,

  async add(args, conf) {
    const spec = containerSpec(args, conf);
    if (spec) await backendFor(conf).setupContainer(spec);
    return requirePrevResult(conf);
  },

  // From the record: no prevResult or runtimeConfig needed; without one, by the rules' tags.
  async del(args, conf) {
    await backendFor(conf).teardownContainer({ network: conf.name, containerId: args.containerId, ifname: args.ifname, owner: PORTMAP_OWNER }, { sweepUnrecorded: true });
  },

  async check(args, conf) {
    const spec = containerSpec(args, conf);
    if (spec) await backendFor(conf).checkContainer(spec);
  },

  async gc(_args, conf) {
    const valid = validAttachments(conf);
    if (valid) await backendFor(conf).gc(conf.name, valid, { owner: PORTMAP_OWNER });
  },
};
