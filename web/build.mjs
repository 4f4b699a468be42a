// Bundles the dashboard (src/main.js and its CSS, with hashed names) and tracker.js (minified) into
// an output directory (default ../build/web), and writes index.html pointing at the hashed files.
// The server serves that directory (web.root); hashed files are cached for a year.
//   node build.mjs [OUT_DIR]
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, '../build/web'));
const staging = `${out}.tmp-${process.pid}`;
fs.rmSync(staging, { recursive: true, force: true });
fs.mkdirSync(path.join(staging, 'assets'), { recursive: true });

const app = await esbuild.build({
  entryPoints: [path.join(here, 'src/main.js')],
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'esm',
  target: ['es2020'],
  outdir: path.join(staging, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(app.metafile.outputs).map((p) => path.relative(staging, p));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));

const template = fs.readFileSync(path.join(here, 'src/index.html'), 'utf8');
const html = template
  .replace('<!-- styles -->', css ? `<link rel="stylesheet" href="${css}">` : '')
  .replace('<!-- scripts -->', `<script type="module" src="${js}"></script>`);
fs.writeFileSync(path.join(staging, 'index.html'), html);

await esbuild.build({
  entryPoints: [path.join(here, 'tracker/tracker.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2017'],
  outfile: path.join(staging, 'tracker.js'),
  logLevel: 'warning',
});

// Swap the finished directory in, so a running server never sees half a build.
fs.rmSync(out, { recursive: true, force: true });
fs.renameSync(staging, out);
console.log(`web: built ${out} (${js}${css ? `, ${css}` : ''}, tracker.js)`);
