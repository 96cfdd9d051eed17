// Builds one CommonJS bundle per plugin (CJS starts ~9 ms faster than ESM, see design.md) and
// writes the executables: bin/cni/<type> for each plugin (native/cni-shim.c, compiled with the
// absolute paths of node, dist/start.cjs and the bundle) and bin/ctnet for the CLI (a tiny sh
// launcher with the same paths), so a runtime can use bin/cni as its CNI_PATH, or copy the
// executables elsewhere, and they still find this checkout's node and bundles. start.cjs gives
// every bundle a V8 code cache (see there). Also the plugin server's worker (dist/plugin-worker.cjs)
// and the library (package.json's main): the engine's API as one ES module, dist/lib/index.js.
// `--out DIR` writes DIR/dist and DIR/bin instead (the bench builds a private copy there); DIR must
// lie inside this checkout, for the bundles to find node_modules and the native addon.
//
// A rebuild never pulls files from under a running plugin: the bundles go to a fresh directory that
// the `dist` symlink is then switched to in one rename, and each executable is replaced by rename.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(parseArgs({ options: { out: { type: 'string', default: root } } }).values.out);
const dist = join(out, 'dist');
const buildDir = join(out, `.dist-${Date.now().toString(36)}-${process.pid}`);
const pluginsDir = join(root, 'plugins');
const plugins = (existsSync(pluginsDir) ? readdirSync(pluginsDir, { withFileTypes: true }) : [])
  .filter((d) => d.isDirectory() && existsSync(join(pluginsDir, d.name, 'main.ts')))
  .map((d) => d.name);

const entries = Object.fromEntries(plugins.map((p) => [`plugins/${p}`, join(pluginsDir, p, 'main.ts')]));
if (existsSync(join(root, 'cli', 'main.ts'))) entries['cli'] = join(root, 'cli', 'main.ts');
// The plugin server's warm process (plugin-server/worker.ts), beside cli.cjs that starts it.
if (existsSync(join(root, 'plugin-server', 'worker.ts'))) entries['plugin-worker'] = join(root, 'plugin-server', 'worker.ts');

// netlink's JavaScript is bundled like the rest (so the code cache covers it); only its native
// binding stays a file, found here once instead of by node-gyp-build scanning prebuilds/ each run.
const netlinkDir = dirname(createRequire(import.meta.url).resolve('netlink/package.json'));
const netlinkBinding = createRequire(join(netlinkDir, 'package.json'))('node-gyp-build').resolve(netlinkDir);
const netlinkBindingPlugin = {
  name: 'netlink-binding',
  setup(b) {
    b.onLoad({ filter: /[\\/]netlink[\\/]dist[\\/]raw\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const call = "require('node-gyp-build')(__dirname + '/..')";
      if (!text.includes(call)) throw new Error(`netlink's raw.js no longer loads its binding with ${call}: update scripts/build.mjs`);
      return { contents: text.replace(call, `require(${JSON.stringify(netlinkBinding)})`), loader: 'js' };
    });
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, external: true }));
  },
};

// execa is bundled (loaded from node_modules as ESM, through Node 20's loader, ~30 files, it cost
// ~100 ms of CPU per run that starts a program), but on its own, as dist/vendor/execa.cjs: the
// executables' `await import('execa')` (nat/, cni/, engine/) becomes a require of that file, so the
// runs that start no program (every DEL: nf_tables) neither read nor compile its ~200 KB
// (bench/README.md). start.cjs gives it a code cache like the bundles'.
const vendorExeca = (fromDir) => ({
  name: 'vendor-execa',
  setup(b) {
    b.onResolve({ filter: /^execa$/ }, () => ({ path: `${fromDir}/vendor/execa.cjs`, external: true }));
  },
});

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  plugins: [netlinkBindingPlugin],
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  logLevel: 'warning',
};

const cjs = {
  ...common,
  outdir: buildDir,
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // import() of vendor/execa.cjs as a require(), not through Node's ESM loader.
  supported: { 'dynamic-import': false },
  // ESM sources use import.meta.dirname and import.meta.url; give the CJS bundle equivalents, the
  // URL made only when asked for (pathToFileURL costs a plugin run ~0.3 ms, and none needs it).
  define: { 'import.meta.dirname': '__dirname', 'import.meta.url': '__ctnet_import_meta.url' },
  banner: { js: 'var __ctnet_import_meta={get url(){return require("url").pathToFileURL(__filename).href}};' },
};
// One build per directory depth, for the relative path to vendor/ (plugins/*.cjs, then cli.cjs
// and plugin-worker.cjs).
const { cli, 'plugin-worker': pluginWorker, ...pluginEntries } = entries;
const rootEntries = Object.fromEntries(Object.entries({ cli, 'plugin-worker': pluginWorker }).filter(([, v]) => v));
await build({ ...cjs, entryPoints: pluginEntries, plugins: [...common.plugins, vendorExeca('..')] });
if (Object.keys(rootEntries).length) await build({ ...cjs, entryPoints: rootEntries, plugins: [...common.plugins, vendorExeca('.')] });
// The one export used, re-exported statically so that the rest of execa's API is left out.
await build({ ...cjs, stdin: { contents: "export { execa } from 'execa';", resolveDir: root, sourcefile: 'vendor-execa.js' }, outfile: join(buildDir, 'vendor', 'execa.cjs'), outdir: undefined });
if (existsSync(join(root, 'engine', 'index.ts'))) {
  await build({
    ...common,
    entryPoints: { 'lib/index': join(root, 'engine', 'index.ts') },
    outdir: buildDir,
    format: 'esm',
    // Bundled CommonJS dependencies call require(): give the ES module one.
    banner: { js: 'import { createRequire as __ctnetCreateRequire } from "node:module"; const require = __ctnetCreateRequire(import.meta.url);' },
  });
}

copyFileSync(join(root, 'scripts', 'start.cjs'), join(buildDir, 'start.cjs'));
// Each plugin's VERSION answer, printed by the bundle itself, for start.cjs to serve without loading it.
for (const p of plugins) {
  const bundle = join(buildDir, 'plugins', `${p}.cjs`);
  const answer = execFileSync(process.execPath, [bundle], { env: { ...process.env, CNI_COMMAND: 'VERSION' }, stdio: ['ignore', 'pipe', 'inherit'] });
  if (!Array.isArray(JSON.parse(answer.toString()).supportedVersions)) throw new Error(`${p}: VERSION printed ${answer}`);
  writeFileSync(`${bundle}.version`, answer);
}

// Switch `dist` to the new build in one rename (an older checkout's dist may be a real directory).
// The build it pointed to stays until the next one, for plugins that were starting from it.
const previous = existsSync(dist) && lstatSync(dist).isSymbolicLink() ? readlinkSync(dist) : undefined;
if (existsSync(dist) && previous === undefined) rmSync(dist, { recursive: true, force: true });
const link = `${buildDir}.link`;
symlinkSync(basename(buildDir), link);
renameSync(link, dist);
for (const name of readdirSync(out)) {
  if (name.startsWith('.dist-') && ![basename(buildDir), previous].includes(name)) rmSync(join(out, name), { recursive: true, force: true });
}

// A plugin never speaks TLS: clearing NODE_EXTRA_CA_CERTS saves ~40 ms of CA parsing per start.
// start.cjs runs the bundle through a V8 code cache (see there).
const launcher = (bundle) => `#!/bin/sh\nunset NODE_EXTRA_CA_CERTS\nexec '${process.execPath}' '${join(dist, 'start.cjs')}' '${join(dist, bundle)}' "$@"\n`;
// Each plugin's executable is native/cni-shim.c compiled with these paths: it hands the run to a
// plugin server's warm worker when one listens, else becomes the same `node start.cjs <bundle>`.
function compileShim(path, bundle) {
  const cString = (s) => JSON.stringify(s);
  const defines = { CTNET_NODE: process.execPath, CTNET_START: join(dist, 'start.cjs'), CTNET_BUNDLE: join(dist, bundle) };
  const tmp = `${path}.tmp-${process.pid}`;
  execFileSync(process.env.CC ?? 'cc', ['-std=c11', '-O2', '-Wall', '-Wextra', ...Object.entries(defines).map(([k, v]) => `-D${k}=${cString(v)}`), '-o', tmp, join(root, 'native', 'cni-shim.c')], { stdio: 'inherit' });
  renameSync(tmp, path);
}
function writeExecutable(path, text) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  chmodSync(tmp, 0o755);
  renameSync(tmp, path);
}
const binCni = join(out, 'bin', 'cni');
mkdirSync(binCni, { recursive: true });
for (const name of readdirSync(binCni)) if (!plugins.includes(name)) rmSync(join(binCni, name), { force: true });
for (const p of plugins) compileShim(join(binCni, p), `plugins/${p}.cjs`);
if (entries['cli']) writeExecutable(join(out, 'bin', 'ctnet'), launcher('cli.cjs'));
console.log(`built ${plugins.length} plugins (${plugins.join(', ')})${entries['cli'] ? ', the ctnet CLI' : ''} and the library`);
