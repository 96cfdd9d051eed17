import test from 'ava';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileWatch } from './file-watch.js';

test('changes are reported: written, replaced by rename, removed, and in a directory created later', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ctnet-dns-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.json');
  const late = join(dir, 'later', 'b.json');
  writeFileSync(a, '1');
  const seen: string[][] = [];
  const watch = new FileWatch({ files: () => [a, late], dirs: [dir, join(dir, 'later')], pollMs: 100, onChange: (c) => seen.push(c) });
  t.teardown(() => watch.close());
  const next = async () => {
    const start = seen.length;
    for (let i = 0; i < 100 && seen.length === start; i++) await new Promise((r) => setTimeout(r, 10));
    return seen.at(-1);
  };

  writeFileSync(`${a}.tmp`, '22');
  renameSync(`${a}.tmp`, a);
  t.deepEqual(await next(), [a]);
  rmSync(a);
  t.deepEqual(await next(), [a]);
  mkdirSync(join(dir, 'later'));
  writeFileSync(late, 'x'); // no watcher on this directory: the poll finds it
  t.deepEqual(await next(), [late]);
});
