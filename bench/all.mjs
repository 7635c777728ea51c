// `npm run bench`: the legacy backend's and ipset's workloads (bench/run.mjs), then the nft backend's
// against iptables-nft (bench/nft.mjs), one after the other in the namespace scripts/netns-run.mjs
// made, each printing its own table. `--short` goes to both. `--only N,M` picks workloads of
// bench/run.mjs and skips the nft ones (`npm run bench:nft -- --only N,M` picks those).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const files = args.includes('--only') ? ['run.mjs'] : ['run.mjs', 'nft.mjs'];
for (const file of files) {
  const fileArgs = file === 'nft.mjs' ? args.filter((a) => a === '--short') : args;
  const r = spawnSync(process.execPath, [join(here, file), ...fileArgs], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  if (file !== files.at(-1)) console.log('');
}
