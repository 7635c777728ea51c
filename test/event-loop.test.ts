// iptc/async keeps the caller's event loop running while the owner thread commits 10,000 rules or
// waits for another writer (legacy: for the xtables lock; nf_tables, which has no lock: while another
// program's commits keep moving the ruleset, so that reads and commits are done again); the synchronous
// API, doing the same on the main thread, blocks it (the control, which shows that the measurement sees
// a blocked loop). Runs on the backend under test; read back with its iptables-save.
//
// Measured with perf_hooks.monitorEventLoopDelay at 1 ms resolution: each sample is the time between
// two turns of a 1 ms timer, so it includes that 1 ms. The bound asserted is the 99th percentile under
// 10 ms, with the maximum reported, not asserted, because on a busy 2-core machine a timer is late now
// and then whatever the process does: the owner thread takes one core, other processes the other, and
// this kernel is built with PREEMPT_NONE, so while the owner thread is inside the kernel replacing the
// table (one IPT_SO_SET_REPLACE of ~2 MB, tens of milliseconds, not preemptible) a main thread queued on
// that core waits with it, as it would for another process's iptables-restore. For the same reason a
// scenario is measured up to three times and passes on the first run within the bound; every run is
// reported. A blocked loop fails every run: the synchronous control blocks it for the whole operation.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanFresh, iptcEntry, runFresh } from './fresh-process.js';
import { BACKEND, resetKernel, rules, tools } from './kernel.js';

beforeEach(() => resetKernel());
afterAll(() => cleanFresh());

interface Delay {
  ms: number;
  p50: number;
  p99: number;
  max: number;
  samples: number;
  ticks: number;
}

const MEASURE = `
const { monitorEventLoopDelay } = await import('node:perf_hooks');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Event-loop delay (ms) and 10 ms interval ticks while fn runs. */
async function measure(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let ticks = 0;
  h.enable();
  // The histogram records from its timer's second turn on, and again after a reset.
  await sleep(20);
  h.reset();
  await sleep(5);
  const interval = setInterval(() => ticks++, 10);
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  // Let the loop take the sample of a turn that fn blocked.
  await sleep(5);
  h.disable();
  clearInterval(interval);
  const f = (ns) => Math.round(ns / 1e4) / 100;
  return { ms: Math.round(ms), p50: f(h.percentile(50)), p99: f(h.percentile(99)), max: f(h.max), samples: h.count, ticks };
}
/** measure() up to three times, until p99 is within 10 ms; prepare() runs before each, unmeasured. */
async function measureRuns(prepare, fn) {
  const runs = [];
  do {
    await prepare();
    runs.push(await measure(fn));
  } while (runs.at(-1).p99 >= 10 && runs.length < 3);
  return runs;
}
const specs = Array.from({ length: 10000 }, (_, i) =>
  '-s 10.' + ((i >> 8) & 255) + '.' + (i & 255) + '.1 -p tcp --dport ' + (1000 + (i % 5000)) + ' -m comment --comment r' + i + ' -j ACCEPT');
`;

function runMeasured(body: string): Record<string, Delay[]> {
  const entry = iptcEntry();
  const asyncEntry = join(dirname(dirname(entry)), 'async', 'index.js');
  const { status, result, stderr } = runFresh(`const A = await import(${JSON.stringify(asyncEntry)});\n${MEASURE}\n${body}`);
  expect(status, stderr).toBe(0);
  return (result as { result: Record<string, Delay[]> }).result;
}

function report(what: string, d: Delay): void {
  console.log(`${what}: ${d.ms} ms; event-loop delay p50 ${d.p50} ms, p99 ${d.p99} ms, max ${d.max} ms (${d.samples} samples); ${d.ticks} ticks of a 10 ms interval`);
}

describe('event-loop delay', () => {
  it('stays under 10 ms (p99) while a 10,000-rule batch is appended and committed, and while a 10,000-line restore commits', () => {
    const r = runMeasured(`
const t = await A.AsyncTable.open('filter', { autocommit: false });
const batch = await measureRuns(
  async () => { await t.chain('INPUT').flush(); await t.commit(); },
  async () => { await t.chain('INPUT').appendRules(specs); await t.commit(); },
);
const t2 = await A.AsyncTable.open('filter');
const text = specs.map((s) => '-A FORWARD ' + s).join('\\n');
const restore = await measureRuns(() => t2.chain('FORWARD').flush(), () => t2.restore(text, { noflush: true }));
await A.shutdown();
// The control: the same batch on the main thread, with the synchronous API.
const sync = await measure(() => {
  const s = new iptc.Table('filter', { autocommit: false });
  for (const spec of specs) s.chain('OUTPUT').appendRule(iptc.Rule.parse(spec));
  s.commit();
});
return { batch, restore, sync: [sync] };
`);
    r.batch!.forEach((d) => report('iptc/async appendRules(10,000) + commit()', d));
    r.restore!.forEach((d) => report('iptc/async restore() of 10,000 rules', d));
    report('control: the same batch with the synchronous API', r.sync![0]!);
    expect(r.batch!.at(-1)!.p99).toBeLessThan(10);
    expect(r.restore!.at(-1)!.p99).toBeLessThan(10);
    // The measurement sees a blocked loop: the synchronous batch holds it for its whole length.
    const sync = r.sync![0]!;
    expect(sync.max).toBeGreaterThan(100);
    expect(sync.max).toBeGreaterThan(sync.ms * 0.8);
    const saved = execFileSync(tools.save(), ['-t', 'filter'], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) {
      const held = saved.filter((line) => line.startsWith(`-A ${chain} `));
      expect(held).toHaveLength(10000);
      expect(held[9999]).toBe(`-A ${chain} -s 10.39.15.1/32 -p tcp -m tcp --dport 5999 -m comment --comment r9999 -j ACCEPT`);
    }
  });

  // nf_tables has no xtables lock (iptables-nft takes none): its wait is the next case.
  it.skipIf(BACKEND !== 'legacy')('stays under 10 ms (p99) while a change waits 1.5 s for the xtables lock', () => {
    const r = runMeasured(`
const { spawn } = await import('node:child_process');
/** Another program holding the xtables lock for 1.5 s, as iptables -w would. */
async function holdLock() {
  const holder = spawn('flock', ['-o', process.env.XTABLES_LOCKFILE, 'sh', '-c', 'echo held; exec sleep 1.5 >/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => holder.stdout.once('data', r));
  return holder;
}
const t = await A.AsyncTable.open('filter', { wait: 10 });
let n = 0;
const waited = await measureRuns(holdLock, () => t.chain('INPUT').appendRule('-m comment --comment after-wait-' + n++ + ' -j ACCEPT'));
await A.shutdown();
const s = new iptc.Table('filter', { wait: 10 });
await holdLock();
const sync = await measure(() => s.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment sync -j ACCEPT')));
return { waited, sync: [sync] };
`);
    r.waited!.forEach((d) => report('iptc/async appendRule() waiting for the xtables lock', d));
    report('control: the same wait with the synchronous API', r.sync![0]!);
    const waited = r.waited!.at(-1)!;
    expect(waited.ms).toBeGreaterThan(1000);
    expect(waited.p99).toBeLessThan(10);
    // Timers kept firing through the wait (a 10 ms interval over ~1.5 s: ~150 ticks), where the
    // synchronous wait lets none through.
    expect(waited.ticks).toBeGreaterThan(waited.ms / 20);
    const sync = r.sync![0]!;
    expect(sync.ms).toBeGreaterThan(1000);
    expect(sync.ticks).toBeLessThanOrEqual(1);
    expect(sync.max).toBeGreaterThan(1000);
    const made = rules('filter', 'INPUT');
    expect(made.at(-1)).toBe('-m comment --comment sync -j ACCEPT');
    expect(made.slice(0, -1)).toEqual(r.waited!.map((_, i) => `-m comment --comment after-wait-${i} -j ACCEPT`));
  });

  // The legacy equivalent is the lock wait above: iptables-legacy holds the lock for its whole read and
  // commit, so a change never meets a moved table there.
  it.skipIf(BACKEND !== 'nft')('stays under 10 ms (p99) while a change waits 1.5 s for other programs\' commits to stop moving the ruleset (nft)', () => {
    const r = runMeasured(`
const { spawn } = await import('node:child_process');
const t = await A.AsyncTable.open('filter');
// 10,000 rules: a read of the table takes tens of milliseconds, the writer commits every millisecond or so.
await t.restore(specs.map((s) => '-A FORWARD ' + s).join('\\n'), { noflush: true });
/**
 * Another program committing to a table of its own for 1.5 s (every commit in the namespace moves the
 * generation, which every read and commit of iptc's table checks): nft adding and deleting a chain, one
 * transaction per line, for 1.5 s from \`go' on (and what the pipe to nft still holds). Resolves once it
 * is committing; \`ended' with its exit status, its output and when it said \`go'.
 */
async function busyWriter() {
  const w = spawn('sh', ['-c', 'nft add table ip busy && echo go && end=$(($(date +%s%N) + 1500000000)) && ' +
    'while [ $(date +%s%N) -lt $end ]; do echo "add chain ip busy c"; echo "delete chain ip busy c"; done | nft -i >/dev/null && echo end'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let go = null;
  const ended = new Promise((resolve) => w.once('exit', (code) => resolve({ code, out, go })));
  w.stdout.on('data', (c) => { out += c; go ??= performance.now(); });
  while (go === null) await sleep(5);
  // The loop is committing.
  await sleep(100);
  return { ended };
}
// As measureRuns, and also again (up to three runs in all) when the change did not wait for the writer:
// a writer descheduled for as long as a read takes (a busy machine) lets the change through early.
const runs = [];
const waited = [];
let writer;
let done;
do {
  writer = await busyWriter();
  waited.push(await measure(async () => {
    await t.chain('INPUT').appendRule('-m comment --comment after-writer-' + waited.length + ' -j ACCEPT');
    done = performance.now();
  }));
  runs.push({ ...(await writer.ended), done });
} while ((waited.at(-1).p99 >= 10 || runs.at(-1).done - runs.at(-1).go <= 1400) && waited.length < 3);
await A.shutdown();
const s = new iptc.Table('filter');
writer = await busyWriter();
const sync = await measure(() => { s.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment sync -j ACCEPT')); done = performance.now(); });
runs.push({ ...(await writer.ended), done });
return { waited, sync: [sync], runs };
`) as Record<string, Delay[]> & { runs: { code: number; out: string; go: number; done: number }[] };
    r.waited!.forEach((d) => report('iptc/async appendRule() while another program keeps committing', d));
    report('control: the same change with the synchronous API', r.sync![0]!);
    for (const run of r.runs) {
      expect(run.code).toBe(0);
      expect(run.out).toBe('go\nend\n');
    }
    // The change waited for the writer (no read or commit of it could be made while the ruleset moved
    // every millisecond), and the loop ran meanwhile.
    expect(r.runs.at(-2)!.done - r.runs.at(-2)!.go).toBeGreaterThan(1400);
    const waited = r.waited!.at(-1)!;
    expect(waited.ms).toBeGreaterThan(1000);
    expect(waited.p99).toBeLessThan(10);
    expect(waited.ticks).toBeGreaterThan(waited.ms / 20);
    // The control blocks the loop for as long as it waits (which is not asserted: it is measured once).
    const sync = r.sync![0]!;
    expect(sync.ticks).toBeLessThanOrEqual(1);
    expect(sync.max).toBeGreaterThan(sync.ms * 0.8);
    expect(rules('filter', 'INPUT')).toEqual([
      ...r.waited!.map((_, i) => `-m comment --comment after-writer-${i} -j ACCEPT`),
      '-m comment --comment sync -j ACCEPT',
    ]);
  });
});
