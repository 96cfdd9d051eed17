// Summaries of timing samples and the plain-text table the bench prints.

export interface Summary {
  n: number;
  median: number;
  p90: number;
  p95: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, median: NaN, p90: NaN, p95: NaN, min: NaN, max: NaN };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, median: round(median), p90: round(rank(s, 90)), p95: round(rank(s, 95)), min: round(s[0]!), max: round(s[s.length - 1]!) };
}

/** a / b, NaN when b is not a positive time. */
export const quotient = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : NaN);
/** The quotient to two places, as the tables show it. */
export const ratio = (a: number, b: number) => Math.round(quotient(a, b) * 100) / 100;

/** Left-aligns the first column, right-aligns the others. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
