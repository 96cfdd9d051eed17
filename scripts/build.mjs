// Builds one CommonJS bundle per plugin (CJS starts ~9 ms faster than ESM, see design.md) and
// writes the executables: bin/cni/<type> for each plugin and bin/ctnet for the CLI. Each is a tiny
// sh launcher with absolute paths, so a runtime can use bin/cni as its CNI_PATH, or copy the
// launchers elsewhere, and they still find this checkout's node and bundles.
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pluginsDir = join(root, 'plugins');
const plugins = (existsSync(pluginsDir) ? readdirSync(pluginsDir, { withFileTypes: true }) : [])
  .filter((d) => d.isDirectory() && existsSync(join(pluginsDir, d.name, 'main.ts')))
  .map((d) => d.name);

const entries = Object.fromEntries(plugins.map((p) => [`plugins/${p}`, join(pluginsDir, p, 'main.ts')]));
if (existsSync(join(root, 'cli', 'main.ts'))) entries['cli'] = join(root, 'cli', 'main.ts');

rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: entries,
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // netlink loads its native binding relative to its own package: keep it in node_modules.
  // execa (with its dependencies ~290 KB, ~40 ms of every start) is only needed on paths that run
  // another program: it stays in node_modules and is loaded by dynamic import() when used.
  external: ['netlink', 'netlink/*', 'execa'],
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  logLevel: 'warning',
  // ESM sources use import.meta.url; give the CJS bundle an equivalent.
  define: { 'import.meta.url': '__ctnet_import_meta_url' },
  banner: { js: 'var __ctnet_import_meta_url=require("url").pathToFileURL(__filename).href;' },
});

// execa is ESM-only: a CommonJS bundle can import() it but not require() it (Node 20).
for (const name of Object.keys(entries)) {
  const text = readFileSync(join(root, 'dist', `${name}.cjs`), 'utf8');
  if (/require\(["']execa["']\)/.test(text)) {
    throw new Error(`${name}: execa must be loaded with "await import('execa')" (a static import becomes require(), which fails for ESM-only execa)`);
  }
}

// A plugin never speaks TLS: clearing NODE_EXTRA_CA_CERTS saves ~40 ms of CA parsing per start.
const launcher = (bundle) =>
  `#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec '${process.execPath}' '${join(root, 'dist', bundle)}' "$@"\n`;
const binCni = join(root, 'bin', 'cni');
rmSync(binCni, { recursive: true, force: true });
mkdirSync(binCni, { recursive: true });
for (const p of plugins) {
  writeFileSync(join(binCni, p), launcher(`plugins/${p}.cjs`));
  chmodSync(join(binCni, p), 0o755);
}
if (entries['cli']) {
  writeFileSync(join(root, 'bin', 'ctnet'), launcher('cli.cjs'));
  chmodSync(join(root, 'bin', 'ctnet'), 0o755);
}
console.log(`built ${plugins.length} plugins (${plugins.join(', ')})${entries['cli'] ? ' and the ctnet CLI' : ''}`);
