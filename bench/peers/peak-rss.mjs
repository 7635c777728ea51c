// Runs a command (its output dropped) and prints, as JSON, the milliseconds it took and its peak resident
// size in bytes: getrusage(RUSAGE_CHILDREN) of this process, whose only child it is.
// Usage: node peak-rss.mjs COMMAND [ARGS...]
import { spawnSync } from 'node:child_process';
import koffi from 'koffi';

const start = performance.now();
const r = spawnSync(process.argv[2], process.argv.slice(3), { stdio: ['ignore', 'ignore', 'inherit'] });
const ms = performance.now() - start;
if (r.status !== 0) throw new Error(`${process.argv.slice(2).join(' ')}: exit status ${r.status}`);
const getrusage = koffi.load('libc.so.6').func('int getrusage(int who, _Out_ uint8_t *usage)');
// struct rusage: two timevals (32 bytes), then ru_maxrss (a long, in KiB).
const usage = new Uint8Array(144);
if (getrusage(-1 /* RUSAGE_CHILDREN */, usage) !== 0) throw new Error('getrusage failed');
const maxrss = Number(Buffer.from(usage.buffer).readBigInt64LE(32)) * 1024;
process.stdout.write(`${JSON.stringify({ ms, maxrss })}\n`);
