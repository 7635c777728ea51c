#!/usr/bin/env node
// Compiles src/ into dist/ from scratch (a stale file of a removed module would otherwise ship), then
// writes a CommonJS twin (.d.cts) of every declaration file for the exports map's `require` condition.
//
// Why the twins: the package is ESM, which Node (20.19+, 22.12+) can `require`. TypeScript checks a
// CommonJS file's imports against the format of the declarations it finds, and refuses ESM ones under
// `module: node16`, and inside declaration files under `nodenext` without skipLibCheck. The twins
// declare the same API as CommonJS, which is what `require('iptc')` returns: the module's namespace.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (tsc.error || tsc.status !== 0) process.exit(tsc.status ?? 1);

// A relative specifier of a compiled module (`./rule.js`) names its twin (`./rule.cjs`, declared by
// rule.d.cts) in `from '...'`, `import('...')` and bare `import '...'`.
const RELATIVE_JS = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.\.?\/[^'"]*?)\.js\2/g;

let twins = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8').replace(RELATIVE_JS, '$1$2$3.cjs$2');
  writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), text);
  twins++;
}
if (twins === 0) {
  console.error('build-ts: tsc wrote no declaration files');
  process.exit(1);
}
