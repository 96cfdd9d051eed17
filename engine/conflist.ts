// Network configuration lists as libcni reads them: a `.conflist` ({cniVersion, cniVersions?, name,
// plugins, disableCheck?, disableGC?, loadOnlyInlinedPlugins?}), plugin configs from `<dir>/<name>/*.conf`
// beside it unless only inlined plugins are wanted, or a single plugin `.conf` promoted to a list
// of one. Unknown top-level keys are kept in the source text and otherwise ignored (libcni reads
// the keys it knows from a map), which is where ctnet keeps its own network metadata.
import { readFile, readdir } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { CniError, ErrorCode } from '../cni/errors.js';
import { validateNetworkName } from '../cni/validate.js';
import { SUPPORTED_VERSIONS, compareVersions, isSupported } from '../cni/version.js';

/** One plugin's config as written in the list (without the injected name, cniVersion, prevResult). */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfigList {
  name: string;
  /** The version every plugin is run with (the highest of cniVersion/cniVersions ctnet speaks). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConf[];
  /** The source text; libcni caches it with each attachment. */
  bytes: string;
}

const invalid = (source: string, msg: string) => new CniError(ErrorCode.InvalidNetworkConfig, `${source}: ${msg}`);

function parseObject(text: string, source: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `${source}: not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(source, 'not a JSON object');
  return raw as Record<string, unknown>;
}

/** A boolean key, written as a JSON boolean or as "true"/"false" in any case (libcni accepts both). */
function readBool(raw: Record<string, unknown>, key: string, source: string): boolean {
  const value = raw[key];
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && ['true', 'false'].includes(value.toLowerCase())) return value.toLowerCase() === 'true';
  throw invalid(source, `"${key}" must be true or false, not ${JSON.stringify(value)}`);
}

/** cniVersion and cniVersions together: the highest version ctnet supports wins (spec 1.1.0). */
function pickVersion(raw: Record<string, unknown>, source: string): string {
  const candidates: string[] = [];
  if (raw.cniVersion !== undefined) {
    if (typeof raw.cniVersion !== 'string') throw invalid(source, `"cniVersion" must be a string`);
    candidates.push(raw.cniVersion);
  }
  if (raw.cniVersions !== undefined) {
    if (!Array.isArray(raw.cniVersions) || !raw.cniVersions.every((v) => typeof v === 'string')) {
      throw invalid(source, '"cniVersions" must be a list of version strings');
    }
    candidates.push(...(raw.cniVersions as string[]));
  }
  const usable = candidates.filter(isSupported).sort(compareVersions);
  const picked = usable[usable.length - 1];
  if (!picked) {
    const asked = candidates.length ? candidates.join(', ') : 'no version';
    throw new CniError(ErrorCode.IncompatibleVersion, `${source}: the network asks for ${asked}; ctnet's runtime runs ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return picked;
}

function checkPlugin(raw: unknown, where: string): PluginConf {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CniError(ErrorCode.InvalidNetworkConfig, `${where} is not a JSON object`);
  const conf = raw as PluginConf;
  if (typeof conf.type !== 'string' || conf.type === '') throw new CniError(ErrorCode.InvalidNetworkConfig, `${where} has no "type"`);
  if (conf.capabilities !== undefined && (conf.capabilities === null || typeof conf.capabilities !== 'object' || Array.isArray(conf.capabilities))) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${where}: "capabilities" must be an object of name: true|false`);
  }
  return conf;
}

interface Parsed {
  list: NetworkConfigList;
  /** Whether plugin files beside the list may be added (libcni's loadOnlyInlinedPlugins = false). */
  external: boolean;
}

function parse(text: string, source: string): Parsed {
  const raw = parseObject(text, source);
  // A single plugin config (a .conf) has a type and no plugin list: promote it, as libcni does.
  if (raw.plugins === undefined && typeof raw.type === 'string') {
    const promoted = { cniVersion: raw.cniVersion, name: raw.name, plugins: [raw] };
    return parse(JSON.stringify(promoted), source);
  }
  validateNetworkName(raw.name);
  const onlyInlined = readBool(raw, 'loadOnlyInlinedPlugins', source);
  if (raw.plugins !== undefined && !Array.isArray(raw.plugins)) throw invalid(source, '"plugins" must be a list');
  if (Array.isArray(raw.plugins) && raw.plugins.length === 0) throw invalid(source, '"plugins" is empty');
  if (raw.plugins === undefined && onlyInlined) throw invalid(source, '"loadOnlyInlinedPlugins" is true but there is no "plugins" list');
  const plugins = ((raw.plugins as unknown[] | undefined) ?? []).map((p, i) => checkPlugin(p, `${source}: plugins[${i}]`));
  return {
    list: {
      name: raw.name as string,
      cniVersion: pickVersion(raw, source),
      disableCheck: readBool(raw, 'disableCheck', source),
      disableGC: readBool(raw, 'disableGC', source),
      plugins,
      bytes: text,
    },
    external: !onlyInlined,
  };
}

/** Parses a config list (or a single plugin config) from text. */
export function parseConfList(text: string, source = 'network config'): NetworkConfigList {
  const { list } = parse(text, source);
  if (list.plugins.length === 0) throw invalid(source, 'no plugins in the list');
  return list;
}

/** Plugin configs in `<dir>/<network>/*.conf`, in name order (libcni's per-network plugin directory). */
async function externalPlugins(dir: string, network: string): Promise<PluginConf[]> {
  const pluginDir = join(dir, network);
  let names: string[];
  try {
    names = (await readdir(pluginDir, { withFileTypes: true })).filter((e) => e.isFile() && extname(e.name) === '.conf').map((e) => e.name).sort();
  } catch {
    return [];
  }
  return Promise.all(names.map(async (n) => checkPlugin(parseObject(await readFile(join(pluginDir, n), 'utf8'), join(pluginDir, n)), join(pluginDir, n))));
}

/** Loads a `.conflist`, or a `.conf`/`.json` holding one plugin config. */
export async function loadConfFile(path: string): Promise<NetworkConfigList> {
  const { list, external } = parse(await readFile(path, 'utf8'), path);
  if (external) list.plugins.push(...(await externalPlugins(dirname(path), list.name)));
  if (list.plugins.length === 0) throw invalid(path, 'no plugin configs found');
  return list;
}

/** Config files of a directory with the given extensions, in name order. */
async function confFiles(dir: string, exts: readonly string[]): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => !e.isDirectory() && exts.includes(extname(e.name)))
      .map((e) => join(dir, e.name))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * The network named `name` in a config directory, found as libcni's LoadNetworkConf finds it: the
 * first `.conflist` (in file-name order) of that name, else the first `.conf`/`.json` of that name.
 */
export async function findNetworkConfig(dir: string, name: string): Promise<NetworkConfigList> {
  for (const exts of [['.conflist'], ['.conf', '.json']]) {
    for (const file of await confFiles(dir, exts)) {
      const list = await loadConfFile(file);
      if (list.name === name) return list;
    }
  }
  throw new CniError(ErrorCode.InvalidNetworkConfig, `no network config named ${JSON.stringify(name)} in ${dir}`);
}

/** Every network config of a directory (.conflist first, then .conf/.json), for listing. */
export async function loadConfDir(dir: string): Promise<NetworkConfigList[]> {
  const files = [...(await confFiles(dir, ['.conflist'])), ...(await confFiles(dir, ['.conf', '.json']))];
  return Promise.all(files.map(loadConfFile));
}
