// Builds the partial plotly.js the site serves and records what went into it.
//
// In:  node_modules/ as pinned by package-lock.json (build.sh runs `npm ci` first).
// Out: templates/static/plotly/plotly-custom.min.js and, next to it, manifest.json with the
//      package versions, the trace types registered and the file's sha256.
// The same lock file gives the same bytes, so a rebuild shows up in `git diff` only when a
// version or the trace list changes.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const outDir = join(repo, 'templates', 'static', 'plotly');
const outFile = join(outDir, 'plotly-custom.min.js');
const require = createRequire(join(here, 'package.json'));
const esbuild = require('esbuild');

// Every trace type collectwatch/charts.py emits. plotly.js's core always carries scatter;
// the others are registered on top of it. tests/test_bundle.py checks this list against the
// figures of a demo build and against the built file.
const TRACES = ['scatter', 'bar', 'choropleth'];
const IN_CORE = new Set(['scatter']);

const version = (name) => require(`${name}/package.json`).version;
const versions = { 'plotly.js': version('plotly.js'), esbuild: version('esbuild') };

const extra = TRACES.filter((t) => !IN_CORE.has(t));
const entry = [
  "'use strict';",
  "var Plotly = require('plotly.js/lib/core');",
  `Plotly.register([${extra.map((t) => `require('plotly.js/lib/${t}')`).join(', ')}]);`,
  'module.exports = Plotly;',
].join('\n');

const banner =
  `/*! plotly.js ${versions['plotly.js']} (c) Plotly, Inc., MIT licence.` +
  ` Partial bundle for collectwatch: ${TRACES.join(', ')}; built by tools/plotly-bundle. */`;

const result = await esbuild.build({
  stdin: { contents: entry, resolveDir: here, sourcefile: 'entry.js', loader: 'js' },
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'Plotly',
  target: 'es2016',
  // The same settings plotly.js's own dist build uses (its esbuild-config.js).
  define: { global: 'window', 'define.amd': 'false' },
  // Only the map trace (not in this bundle) imports maplibre's stylesheet; drop it.
  loader: { '.css': 'empty' },
  legalComments: 'eof',
  banner: { js: banner },
  write: false,
  logLevel: 'warning',
});

const code = result.outputFiles[0].contents;
mkdirSync(outDir, { recursive: true });
writeFileSync(outFile, code);
const manifest = {
  file: relative(repo, outFile),
  sha256: createHash('sha256').update(code).digest('hex'),
  bytes: code.length,
  traces: TRACES,
  packages: versions,
  rebuild: 'make plotly-bundle',
};
writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`${manifest.file}: ${manifest.bytes} bytes, sha256 ${manifest.sha256}`);
