#!/usr/bin/env node
// The `iptc` command. The code lives in dist/cli (compiled from src/cli); this file only loads it, so
// that a missing build is one clear line instead of a stack trace.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('iptc: dist/cli/main.js is missing: build the package first (npm run build)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const status = await main(process.argv.slice(2));
// Let stdout drain (large saves into a pipe) before exiting with the status.
process.exitCode = status;
