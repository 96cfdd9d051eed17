// `node start.cjs <bundle.cjs> [args...]`: runs a bundle as the main module, compiled through a V8
// code cache kept beside it. Every plugin run is a fresh process, so without it V8 parses the whole
// bundle and compiles each function it calls, every time: with it a bridge ADD or DEL starts about
// 20 ms sooner (bench/README.md). Node 20 has no built-in compile cache (module.enableCompileCache
// is Node 22), hence these few lines.
//
// The cache is written when missing or rejected (another node, other V8 flags), at the exit of a
// run that did real work and succeeded (not a VERSION probe, not a refused config), so it holds the
// functions that run compiled. A bundle has one per CNI command (<bundle>.ADD.v8cache,
// <bundle>.DEL.v8cache, ...; <bundle>.run.v8cache without one): a DEL does not load ADD's
// functions, nor an ADD go without its own because a DEL happened to run first.
// The bundles of one build never change (a rebuild writes a new directory), so a cache cannot be
// stale; where it cannot be read or written (a read-only install) the bundle simply runs without.
//
// VERSION, the probe a runtime may send before it uses a plugin, is answered from <bundle>.version:
// the answer the bundle itself printed at build time (scripts/build.mjs), so the probe reads one
// small file instead of loading the bundle (~15 ms sooner).
'use strict';
const { readFileSync, realpathSync, renameSync, rmSync, writeFileSync, writeSync } = require('node:fs');
// The CommonJS loader's Module class, as this module's own constructor: require('node:module') would
// load Node 20's ES module loader and source map support with it (~0.25 ms of every run).
const Module = module.constructor;
const { dirname, resolve } = require('node:path');
const { Script } = require('node:vm');

// What the bundle sees is what `node <bundle>` would give it.
process.argv.splice(1, 1);
// The build directory itself, not the `dist` symlink, which a rebuild may switch mid-run: a cache
// must land beside the very bundle it was made from.
const file = realpathSync(process.argv[1]);
const loaded = new Map();
const answer = process.env.CNI_COMMAND === 'VERSION' && !process.argv.includes('--help') && !process.argv.includes('-h') ? recordedVersion() : undefined;
if (answer) writeOut(answer);
else load(file, process.env.CNI_COMMAND !== 'VERSION', `.${/^[A-Z]+$/.test(process.env.CNI_COMMAND ?? '') ? process.env.CNI_COMMAND : 'run'}`);

function recordedVersion() {
  try {
    return readFileSync(`${file}.version`);
  } catch {
    return undefined;
  }
}

/** All of it, even to a non-blocking pipe (some runtimes hand one over). */
function writeOut(buf) {
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

/**
 * Runs `path` as a CommonJS module compiled through `<path><variant>.v8cache`, written at exit when
 * missing or rejected if `saveCache`. The bundle's own requires of bundles beside it
 * (`../vendor/execa.cjs`, scripts/build.mjs) take the same way, once each, with one cache whatever
 * the command; every other require is node's.
 */
function load(path, saveCache, variant = '') {
  const cacheFile = `${path}${variant}.v8cache`;
  // A plugin server's worker may have compiled it, the same way, while it waited
  // (plugin-server/preload.ts).
  const preloaded = globalThis[Symbol.for('ctnet.start.preloaded')]?.get(cacheFile);
  let cachedData;
  try {
    cachedData = preloaded ? undefined : readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = preloaded ?? new Script(Module.wrap(readFileSync(path, 'utf8')), { filename: path, cachedData });
  if (!preloaded && (cachedData === undefined || script.cachedDataRejected) && saveCache) {
    // Only from a run that succeeded: a failed one (a bad config) compiled little of what a real
    // one runs, and a cache, once written, is kept.
    process.once('exit', (code) => {
      if (code !== 0) return;
      const tmp = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        rmSync(tmp, { force: true });
      }
    });
  }
  const mod = new Module(path, null);
  mod.filename = path;
  const nodeRequire = Module.createRequire(path);
  const bundleRequire = (id) => {
    if (!(id.startsWith('.') && id.endsWith('.cjs'))) return nodeRequire(id);
    const target = resolve(dirname(path), id);
    if (!loaded.has(target)) loaded.set(target, load(target, true));
    return loaded.get(target);
  };
  script.runInThisContext().call(mod.exports, mod.exports, Object.assign(bundleRequire, nodeRequire), mod, path, dirname(path));
  return mod.exports;
}
