// Runs the two seed experiments (`npm run experiments`; `-- --short` for the CI size). Each is also
// runnable on its own; docs/experiments.md shows their output.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const extra = process.argv.slice(2);
for (const [title, file] of [
  ['Fun with IPSet and IPTables', 'fun-with-ipset.mjs'],
  ['Using ipset the wrong way', 'ipset-kv.mjs'],
]) {
  console.log(`\n=== ${title} ===\n`);
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(file, import.meta.url)), ...extra], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
