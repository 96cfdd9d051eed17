// The whole test suite: snapshot the machine's root network namespace, run ava, snapshot again,
// and fail if anything differs or a sandbox namespace was left behind. Ends with the summary line
// "N passed, N failed, N skipped".
import { execa } from 'execa';
import { isDeepStrictEqual } from 'node:util';

// Set before the sandbox module computes its prefix (ava workers inherit it).
process.env.CTNET_TEST_RUN ??= Math.random().toString(36).slice(2, 7);
const { leftoverNamespaces, rootSnapshot } = await import('../integration/root-guard.js');

const before = await rootSnapshot();
const ava = execa('npx', ['ava', ...process.argv.slice(2)], { reject: false, all: true, stdin: 'ignore' });
ava.all?.pipe(process.stdout);
const out = await ava;
const after = await rootSnapshot();

// ava's summary omits the passed count when something failed: count its per-test marks instead.
const lines = (out.all ?? '').split('\n');
const marks = (re: RegExp) => lines.filter((l) => re.test(l)).length;
const count = (re: RegExp) => Number(re.exec(out.all ?? '')?.[1] ?? 0);
const passed = marks(/^\s*✔/);
let failed = Math.max(count(/^\s*(\d+) tests? failed/m), marks(/^\s*✘ \[fail\]/)) + count(/^\s*(\d+) uncaught exceptions?/m) + count(/^\s*(\d+) unhandled rejections?/m);
const skipped = count(/^\s*(\d+) tests? skipped/m);

const problems: string[] = [];
for (const key of Object.keys(before)) {
  if (!isDeepStrictEqual(before[key], after[key])) {
    const b = new Set(before[key] as string[]);
    const a = new Set(after[key] as string[]);
    const added = [...a].filter((x) => !b.has(x));
    const removed = [...b].filter((x) => !a.has(x));
    problems.push(`root namespace ${key} changed: +${JSON.stringify(added)} -${JSON.stringify(removed)}`);
  }
}
const leftovers = leftoverNamespaces();
if (leftovers.length) problems.push(`sandbox namespaces left behind: ${leftovers.join(', ')}`);

console.log('');
if (problems.length) {
  failed += 1;
  for (const p of problems) console.log(`root-namespace guard: ${p}`);
} else {
  console.log('root-namespace guard: the machine\'s root namespace is unchanged and no sandbox namespace remains');
}
if (out.exitCode !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || out.exitCode !== 0 ? 1 : 0);
