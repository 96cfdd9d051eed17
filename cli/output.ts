// Output helpers shared by the commands: Docker-style aligned tables, JSON, and the --format choice.
export type Format = 'table' | 'json';

export function parseFormat(value: string): Format {
  if (value === 'table' || value === 'json') return value;
  throw new Error(`unknown --format ${JSON.stringify(value)}: use table or json`);
}

/** Columns padded to their widest cell and three spaces apart, as Docker prints them. */
export function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n');
}

export const printJson = (value: unknown): void => console.log(JSON.stringify(value, null, 2));

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** -l k=v and -o k=v pairs. */
export function keyValues(values: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values) {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`invalid ${what} ${JSON.stringify(kv)}: expected KEY=VALUE`);
    out[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return out;
}

/** An error with its own exit status (main.ts exits with it after printing the message). */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Docker's status for `run` and `exec` failing before the command runs, so scripts tell it from the command's own. */
export const ENGINE_FAILURE = 125;

/** Runs a run/exec action: its own failures exit 125; otherwise the command's status becomes ctnet's. */
export async function asCommandStatus(fn: () => Promise<number | undefined>): Promise<void> {
  let status: number | undefined;
  try {
    status = await fn();
  } catch (err) {
    throw new ExitError((err as Error).message, ENGINE_FAILURE);
  }
  if (status !== undefined) process.exitCode = status;
}
