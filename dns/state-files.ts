// The files through which the engine drives the responder daemon, under <stateDir>/dns/:
//   responder.json           which networks to serve and where to listen (ResponderFile)
//   records/<network>.json   the containers of one network (RecordsFile)
//   responder.pid            the running daemon's pid (written once it listens, removed on exit)
// The engine writes with writeResponderFile/writeRecordsFile (write to a temporary file, then
// rename: the daemon never reads half a file); the daemon watches and reloads within a second.
// dns/README.md documents the formats.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import { type ContainerRecord, type ContainerRecordInput, ContainerRecordSchema } from './records.js';
import { NETWORK_NAME, type NetworkConfig, type ResponderLimits } from './responder.js';

export const FORMAT_VERSION = 1;

export interface DnsStatePaths {
  dir: string;
  config: string;
  pidFile: string;
  recordsDir: string;
  records: (network: string) => string;
}

export function dnsStatePaths(stateDir: string): DnsStatePaths {
  const dir = join(stateDir, 'dns');
  const recordsDir = join(dir, 'records');
  return {
    dir,
    config: join(dir, 'responder.json'),
    pidFile: join(dir, 'responder.pid'),
    recordsDir,
    records: (network) => {
      // The name becomes a file name: never a path.
      if (!NETWORK_NAME.test(network) || network === '.' || network === '..') throw new Error(`invalid network name ${JSON.stringify(network)}`);
      return join(recordsDir, `${network}.json`);
    },
  };
}

export interface ResponderFile {
  version: typeof FORMAT_VERSION;
  /** Default port of every listener (53). */
  port?: number;
  /** Answer TTL in seconds (60). Read at start. */
  ttl?: number;
  /** Upstream resolvers ("ADDR", "ADDR:PORT", "[ADDR6]:PORT"); absent: the host's resolv.conf, minus loopback resolvers. */
  upstreams?: string[];
  /** Overrides of the responder's bounds. Read at start. */
  limits?: Partial<ResponderLimits>;
  networks: NetworkConfig[];
}

export interface RecordsFile {
  version: typeof FORMAT_VERSION;
  containers: ContainerRecordInput[];
}

const count = (min: number) => v.pipe(v.number(), v.integer(), v.minValue(min));
const port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));

const ResponderFileSchema = v.object({
  version: v.literal(FORMAT_VERSION),
  port: v.optional(port),
  ttl: v.optional(count(0)),
  upstreams: v.optional(v.array(v.string())),
  limits: v.optional(
    v.partial(
      v.strictObject({
        maxPending: count(1),
        timeoutMs: count(1),
        maxAttempts: count(1),
        maxConnections: count(1),
        idleTimeoutMs: count(1),
        maxInFlightPerConnection: count(1),
        maxQueryBytes: count(512),
      }),
    ),
  ),
  networks: v.array(
    v.object({
      name: v.pipe(v.string(), v.regex(NETWORK_NAME, 'is not a network name')),
      listen: v.array(v.string()),
      port: v.optional(port),
      domain: v.optional(v.string()),
      subnets: v.optional(v.array(v.string())),
    }),
  ),
});

const RecordsFileSchema = v.object({ version: v.literal(FORMAT_VERSION), containers: v.array(ContainerRecordSchema) });

function parseWith<S extends v.GenericSchema>(schema: S, text: string, what: string): v.InferOutput<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not JSON: ${(err as Error).message}`);
  }
  const r = v.safeParse(schema, json);
  if (r.success) return r.output;
  throw new Error(`invalid ${what}: ${r.issues.slice(0, 3).map((i) => `${v.getDotPath(i) ?? ''} ${i.message}`.trim()).join('; ')}`);
}

export const parseResponderFile = (text: string): ResponderFile => parseWith(ResponderFileSchema, text, 'responder config');

/** The validated containers of a records file (defaults filled in). */
export const parseRecordsFile = (text: string): ContainerRecord[] => parseWith(RecordsFileSchema, text, 'records file').containers;

/** Replaces a file in one step: readers see the old content or the new, never part of it. */
function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(tmp, content, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes the responder config, validated first. */
export function writeResponderFile(stateDir: string, file: Omit<ResponderFile, 'version'>): void {
  const text = `${JSON.stringify({ version: FORMAT_VERSION, ...file }, null, 2)}\n`;
  parseResponderFile(text);
  writeAtomic(dnsStatePaths(stateDir).config, text);
}

/** Writes one network's records. Validated first, so a bad record fails here rather than in the daemon. */
export function writeRecordsFile(stateDir: string, network: string, containers: readonly ContainerRecordInput[]): void {
  const text = `${JSON.stringify({ version: FORMAT_VERSION, containers }, null, 2)}\n`;
  parseRecordsFile(text);
  writeAtomic(dnsStatePaths(stateDir).records(network), text);
}

export function removeRecordsFile(stateDir: string, network: string): void {
  rmSync(dnsStatePaths(stateDir).records(network), { force: true });
}

/** Reads a file, or undefined when it does not exist (other errors throw). */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
