// Concurrency on nf_tables: 4 processes running this checkout's iptc on the nft backend (half
// autocommitting, half in batches) and an `iptables-nft` loop (-A, -I, -D and -R) change the same chains
// at once. No lock is taken by anyone (iptables-nft takes none); each transaction names the generation
// it was built on, and a stale one is refused (ERESTART) and applied again on a fresh read. Every change
// carries a unique comment, so at the end iptables-nft-save must show exactly the changes that reported
// success, each once, and nothing else: 0 lost, 0 extra, 0 duplicated. IPTC_STRESS=1 runs the long
// profile (`npm run stress`).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Rule, Table } from '../src/iptc/index.js';
import { cleanFresh } from './fresh-process.js';
import { freshNftEachTest, iptNft, savedRules } from './nft-kernel.js';
import { LONG, Prng, profile, seedOf, spawnIptc } from './stress.js';

const execFileP = promisify(execFile);
freshNftEachTest();
afterAll(() => cleanFresh());

interface Op {
  actor: string;
  seq: number;
  op: 'add' | 'del' | 'anchor';
  tag: string;
  chain: string;
  ok: boolean;
  error?: string;
  /** The error's class, for a change refused because what it acted on moved (ConcurrentChangeError). */
  errorName?: string;
}

/** What each iptc process runs: `ops` changes on the nft backend, autocommitted or in batches, each logged with its outcome. */
function iptcActor(id: string, seed: number, ops: number, batched: boolean): string {
  return `
const { Table, Rule } = iptc;
let s = ${seed} >>> 0;
const rnd = () => { let t = (s = (s + 0x6d2b79f5) >>> 0); t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const rule = (tag) => Rule.parse('-m comment --comment ' + tag + ' -j ACCEPT');
const t = new Table('filter', { backend: 'nft', autocommit: ${!batched} });
if (t.backend !== 'nft') throw new Error('not on nft');
const log = [];
const live = [];
let pending = [];
const failed = (entry, e, prefix = '') => { entry.ok = false; entry.error = prefix + String(e); entry.errorName = e && e.name; };
for (let seq = 0; seq < ${ops}; seq++) {
  const r = rnd();
  let entry;
  try {
    if (r < 0.3 && live.length > 0) {
      const [tag, chain] = live.splice(Math.floor(rnd() * live.length), 1)[0];
      entry = { actor: '${id}', seq, op: 'del', tag, chain, ok: true };
      t.chain(chain).deleteRule(rule(tag));
    } else {
      const chain = rnd() < 0.5 ? 'INPUT' : 'shared';
      const tag = '${id}-' + seq;
      entry = { actor: '${id}', seq, op: 'add', tag, chain, ok: true };
      const where = rnd();
      if (where < 0.4) t.chain(chain).appendRule(rule(tag));
      else t.chain(chain).insertRule(rule(tag), chain === 'shared' ? 1 : 0);
    }
  } catch (e) {
    failed(entry, e);
  }
  log.push(entry);
  if (${batched}) {
    pending.push(entry);
    if (pending.length >= 1 + Math.floor(rnd() * 5) || seq === ${ops} - 1) {
      try { t.commit(); } catch (e) { for (const p of pending) failed(p, e, 'commit: '); }
      // Only changes the kernel has can be deleted later.
      for (const p of pending) if (p.ok && p.op === 'add') live.push([p.tag, p.chain]);
      pending = [];
    }
  } else if (entry.ok && entry.op === 'add') {
    live.push([entry.tag, entry.chain]);
  }
}
t.close();
return log;
`;
}

/** The iptables-nft loop: the same kinds of changes, plus `-R shared 1` of the anchor rule. */
async function cliActor(seed: number, ops: number): Promise<Op[]> {
  const rnd = new Prng(seed);
  const log: Op[] = [];
  const live: [string, string][] = [];
  for (let seq = 0; seq < ops; seq++) {
    const r = rnd.next();
    const comment = (tag: string) => ['-m', 'comment', '--comment', tag, '-j', 'ACCEPT'];
    let entry: Op;
    let args: string[];
    if (r < 0.2) {
      const tag = `anchor-${seq}`;
      entry = { actor: 'cli', seq, op: 'anchor', tag, chain: 'shared', ok: true };
      args = ['-R', 'shared', '1', ...comment(tag)];
    } else if (r < 0.45 && live.length > 0) {
      const [tag, chain] = live.splice(rnd.int(live.length), 1)[0]!;
      entry = { actor: 'cli', seq, op: 'del', tag, chain, ok: true };
      args = ['-D', chain, ...comment(tag)];
    } else {
      const chain = rnd.chance(0.5) ? 'INPUT' : 'shared';
      const tag = `cli-${seq}`;
      entry = { actor: 'cli', seq, op: 'add', tag, chain, ok: true };
      args = rnd.chance(0.5) ? ['-A', chain, ...comment(tag)] : ['-I', chain, chain === 'shared' ? '2' : '1', ...comment(tag)];
    }
    try {
      await execFileP('iptables-nft', args);
      if (entry.op === 'add') live.push([entry.tag, entry.chain]);
    } catch (e) {
      entry.ok = false;
      entry.error = String((e as { stderr?: string }).stderr ?? e);
    }
    log.push(entry);
  }
  return log;
}

describe('a batch on nft', () => {
  it('deletes a rule by its spec (the race found it refused: the entry sat in a larger scratch buffer)', () => {
    iptNft(['-A', 'INPUT', '-m', 'comment', '--comment', 'a1', '-j', 'ACCEPT']);
    iptNft(['-A', 'INPUT', '-m', 'comment', '--comment', 'a2', '-j', 'ACCEPT']);
    const t = new Table('filter', { backend: 'nft', autocommit: false });
    try {
      t.chain('INPUT').deleteRule(Rule.parse('-m comment --comment a1 -j ACCEPT'));
      t.commit();
    } finally {
      t.close();
    }
    expect(savedRules('filter').get('INPUT')).toEqual(['-m comment --comment a2 -j ACCEPT']);
  });
});

describe('4 iptc processes on nft and an iptables-nft loop changing the same chains at once', () => {
  const PROCS = 4;
  const OPS = profile(40, 500);
  const CLI_OPS = profile(60, 600);
  const seed = seedOf(20261203);

  it(`loses nothing (${PROCS} iptc processes x ${OPS} changes + ${CLI_OPS} iptables-nft changes, seed ${seed})`, async () => {
    iptNft(['-N', 'shared']);
    iptNft(['-A', 'shared', '-m', 'comment', '--comment', 'anchor-init', '-j', 'ACCEPT']);
    iptNft(['-A', 'INPUT', '-m', 'comment', '--comment', 'input-init', '-j', 'ACCEPT']);
    const started = performance.now();
    const children = Array.from({ length: PROCS }, (_, i) =>
      spawnIptc(iptcActor(`p${i}`, seed + i + 1, OPS, i % 2 === 1), {}, LONG ? 600_000 : 90_000),
    );
    const [cliLog, ...results] = await Promise.all([cliActor(seed, CLI_OPS), ...children]);
    const elapsed = Math.round(performance.now() - started);

    const logs: Op[] = [...cliLog!];
    for (const [i, r] of results.entries()) {
      expect(r.status, `iptc process p${i} failed: ${r.stderr}`).toBe(0);
      logs.push(...(r.result as Op[]));
    }
    // A change fails only where what it acted on moved under it (a position another writer shifted),
    // and says so; nothing else may fail.
    const failed = logs.filter((o) => !o.ok);
    const unexplained = failed.filter((o) => o.errorName !== 'ConcurrentChangeError');
    expect(unexplained, JSON.stringify(unexplained.slice(0, 5))).toEqual([]);

    // What must be there: per actor, its successful adds minus its deletes (each actor deletes only its own).
    const expected = new Map<string, string>([['input-init', 'INPUT']]);
    let anchor = 'anchor-init';
    for (const o of logs) {
      if (!o.ok) continue;
      if (o.op === 'add') expected.set(o.tag, o.chain);
      else if (o.op === 'del') expected.delete(o.tag);
      else anchor = o.tag;
    }
    const saved = savedRules('filter');
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const chain of ['INPUT', 'shared']) {
      for (const line of saved.get(chain) ?? []) {
        const tag = /--comment (\S+)/.exec(line)?.[1] ?? line;
        if (seen.has(tag)) duplicates.push(tag);
        seen.set(tag, chain);
      }
    }
    expect(duplicates).toEqual([]);
    // The anchor is the last one iptables-nft -R put in place, still first: no writer overwrote it.
    expect(saved.get('shared')![0]).toBe(`-m comment --comment ${anchor} -j ACCEPT`);
    seen.delete(anchor);
    const missing = [...expected].filter(([tag, chain]) => seen.get(tag) !== chain).map(([tag]) => tag);
    const extra = [...seen.keys()].filter((tag) => !expected.has(tag));
    expect(missing, 'changes that reported success but are not in the kernel').toEqual([]);
    expect(extra, 'rules in the kernel that no successful change made').toEqual([]);

    const counts = { iptc: logs.filter((o) => o.actor !== 'cli').length, cli: cliLog!.length };
    console.log(
      `nft concurrency: ${PROCS} iptc processes (${counts.iptc} changes, half in batches) + iptables-nft ` +
        `(${counts.cli} changes, ${cliLog!.filter((o) => o.op === 'anchor').length} of them -R) in ${elapsed} ms: ` +
        `${logs.length - failed.length} succeeded, ${failed.length} refused as concurrent changes, ${expected.size} rules expected, ` +
        '0 lost, 0 extra, 0 duplicated',
    );
  }, LONG ? 900_000 : 120_000);
});
