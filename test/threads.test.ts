// worker_threads: libxtables keeps process-wide state that is not thread-safe, and worker_threads share
// the process. The shim records an owner thread (the first to use the xtables layer) and refuses every
// other thread with XTablesThreadError before it touches that state. Each case runs in a fresh process
// (which thread owns the layer is per process), with real worker_threads hammering the API while the
// owner works; the owner's results and the kernel must come out exactly right.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanFresh, iptcEntry, runFresh } from './fresh-process.js';
import { resetKernel, rules } from './kernel.js';

const MESSAGE = "iptc's xtables layer is in use by another thread; use it from one thread";

beforeEach(() => resetKernel());
afterAll(() => cleanFresh());

/** JS for a worker: `attempts` rounds of every kind of call, each outcome tallied by error kind. */
function workerCode(entry: string, attempts: number): string {
  return `
// Eval'd workers take the parent's module type, so only import() works in both kinds.
import('node:worker_threads').then(async ({ parentPort }) => {
 try {
  const iptc = await import(${JSON.stringify(entry)});
  const tally = {};
  const calls = [
    () => new iptc.Table('filter'),
    () => iptc.Rule.parse('-p tcp --dport 81 -j ACCEPT'),
    () => { const r = new iptc.Rule(); r.createMatch('comment', { comment: 'w' }); return r.toEntry(); },
    () => { const r = new iptc.Rule(); r.createTarget('LOG', { logPrefix: 'w ' }); return r.toEntry(); },
    () => new iptc.Table6('filter'),
  ];
  for (let i = 0; i < ${attempts}; i++) {
    for (const call of calls) {
      let key;
      try { call(); key = 'succeeded'; }
      catch (e) { key = e instanceof iptc.IPTCError && e.code === 'EBUSY' && e.message === ${JSON.stringify(MESSAGE)} ? 'refused' : 'other: ' + String(e); }
      tally[key] = (tally[key] ?? 0) + 1;
    }
  }
  parentPort.postMessage(tally);
 } catch (e) { parentPort.postMessage({ crashed: String(e) }); }
});
`;
}

describe('worker_threads', () => {
  it('while the main thread owns the layer, workers are refused with XTablesThreadError and the main thread is unaffected', () => {
    const entry = iptcEntry();
    const { status, result, stderr } = runFresh(`
const { Worker } = await import('node:worker_threads');
const t = new iptc.Table('filter');
t.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment first -j ACCEPT'));
const workers = [0, 1, 2].map(() => new Worker(${JSON.stringify(workerCode(entry, 40))}, { eval: true }));
const tallies = workers.map((w) => new Promise((resolve, reject) => { w.on('message', resolve); w.on('error', reject); }));
// The owner keeps building, parsing, reading and committing while the workers try.
let built = 0;
for (let i = 0; i < 60; i++) {
  const r = iptc.Rule.parse('-p tcp --dport ' + (1000 + i) + ' -m comment --comment main-' + i + ' -j ACCEPT');
  t.chain('OUTPUT').appendRule(r);
  built += t.chain('OUTPUT').rules.length === i + 1 ? 1 : 0;
  await new Promise((r) => setImmediate(r));
}
const results = await Promise.all(tallies);
return { built, results };
`);
    expect(status, stderr).toBe(0);
    const { built, results } = (result as { result: { built: number; results: Record<string, number>[] } }).result;
    expect(built).toBe(60);
    for (const tally of results) expect(tally).toEqual({ refused: 200 });
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment first -j ACCEPT']);
    expect(rules('filter', 'OUTPUT')).toEqual(
      Array.from({ length: 60 }, (_, i) => `-p tcp -m tcp --dport ${1000 + i} -m comment --comment main-${i} -j ACCEPT`),
    );
  });

  it('a worker can own the layer; others are refused meanwhile; after it exits the next thread takes over', () => {
    const entry = iptcEntry();
    const { status, result, stderr } = runFresh(`
const { Worker } = await import('node:worker_threads');
const ownerCode = ${JSON.stringify(`
import('node:worker_threads').then(async ({ parentPort }) => {
 try {
  const iptc = await import(${JSON.stringify(entry)});
  const t = new iptc.Table('filter');
  for (let i = 0; i < 30; i++) t.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment owner-' + i + ' -j ACCEPT'));
  parentPort.postMessage('owning');
  // Hold on to the layer until told to finish.
  await new Promise((r) => parentPort.once('message', r));
  t.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment owner-last -j ACCEPT'));
  parentPort.postMessage('done');
 } catch (e) { parentPort.postMessage('crashed: ' + e); }
});
`)};
const owner = new Worker(ownerCode, { eval: true });
const said = () => new Promise((r) => owner.once('message', r));
const first = await said();
// The main thread has not used the layer: it is refused too while the worker owns it.
let mainRefused;
try { new iptc.Table('filter'); mainRefused = 'not refused'; } catch (e) { mainRefused = e instanceof iptc.IPTCError && e.code === 'EBUSY' ? 'refused' : String(e); }
const other = new Worker(${JSON.stringify(workerCode(entry, 10))}, { eval: true });
const otherTally = await new Promise((r) => other.once('message', r));
// Listen before asking: a worker that exits at once delivers its last message and 'exit' in one go.
const exited = new Promise((r) => owner.once('exit', r));
const lastSaid = said();
owner.postMessage('finish');
const last = await lastSaid;
await exited;
// The owner has exited: the main thread takes over.
const t = new iptc.Table('filter');
t.chain('INPUT').appendRule(iptc.Rule.parse('-p udp --dport 53 -m comment --comment main -j ACCEPT'));
return { first, mainRefused, otherTally, last, count: t.chain('INPUT').rules.length };
`);
    expect(status, stderr).toBe(0);
    expect((result as { result: unknown }).result).toEqual({
      first: 'owning',
      mainRefused: 'refused',
      otherTally: { refused: 50 },
      last: 'done',
      count: 32,
    });
    expect(rules('filter', 'INPUT').at(-1)).toBe('-p udp -m udp --dport 53 -m comment --comment main -j ACCEPT');
  });

  it('a worker that alone used the layer hands it over as it exits, to a thread that asks at once', () => {
    const entry = iptcEntry();
    const { status, result, stderr } = runFresh(`
const { Worker } = await import('node:worker_threads');
const owner = new Worker(${JSON.stringify(`
import('node:worker_threads').then(async ({ parentPort }) => {
  const iptc = await import(${JSON.stringify(entry)});
  const t = new iptc.Table('filter');
  t.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment worker -j ACCEPT'));
  parentPort.postMessage('done');
});
`)}, { eval: true });
await new Promise((r) => owner.once('exit', r));
// The shim was loaded by the worker only; it must still be there, and the layer free, right away.
const t = new iptc.Table('filter');
t.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment main -j ACCEPT'));
return t.chain('INPUT').rules.map((r) => r.toString());
`);
    expect(status, stderr).toBe(0);
    const both = ['-m comment --comment worker -j ACCEPT', '-m comment --comment main -j ACCEPT'];
    expect((result as { result: unknown }).result).toEqual(both);
    expect(rules('filter', 'INPUT')).toEqual(both);
  });
});
