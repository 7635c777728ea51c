// Concurrency, on the backend under test. Deterministic cases first: on legacy the xtables lock (the flock
// iptables takes on $XTABLES_LOCKFILE: busy, waiting, iptables refused while iptc holds it), on nft its
// absence; then lost updates (the `iptables -R` that a stale batch used to overwrite). Then the race: 4
// processes running this checkout's iptc (half autocommitting, half in batches) and an `iptables -w` loop
// (iptables-legacy or iptables-nft: -A, -I, -D and -R) change the same chains at once. On legacy everyone
// takes the lock; on nft nobody does, each transaction names the generation it was built on and iptc
// applies a refused one again on a fresh read. Every change carries a unique comment, so at the end the
// kernel must hold exactly the changes that reported success, each once, and nothing else: 0 lost, 0
// extra, 0 duplicated. IPTC_STRESS=1 runs the long profile (`npm run stress`).
import { spawnSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Table } from '../src/iptc/index.js';
import { TableHandle } from '../src/xtables/libiptc.js';
import { XTablesLockError } from '../src/xtables/lock.js';
import { cleanFresh } from './fresh-process.js';
import { BACKEND, ipt, resetKernel, rules, save, tools } from './kernel.js';
import { nftBackend } from '../src/iptc/nft-backend.js';
import { NftGenerationError } from '../src/nft/errors.js';
import { LONG, Prng, profile, seedOf, spawnIptc } from './stress.js';
import { holdLock } from './xtables-lock.js';

const execFileP = promisify(execFile);
const lockfile = process.env.XTABLES_LOCKFILE!;
const open: Table[] = [];
/** Table.defaultWait as the library starts: the tests below set it, then put it back. */
const initialWait = Table.defaultWait;

beforeEach(() => {
  resetKernel();
  Table.defaultWait = false;
});

afterEach(() => {
  for (const t of open.splice(0)) t.close();
  Table.defaultWait = initialWait;
});

afterAll(() => cleanFresh());

function table(opts?: ConstructorParameters<typeof Table>[1]): Table {
  const t = new Table('filter', opts);
  open.push(t);
  return t;
}

const tagged = (tag: string) => Rule.parse(`-m comment --comment ${tag} -j ACCEPT`);

// The xtables lock is the legacy backend's: iptables-nft takes none, and neither does iptc on nft (below).
describe.runIf(BACKEND === 'legacy')('the xtables lock', () => {
  it('uses $XTABLES_LOCKFILE (the private one of this namespace, never the host /run/xtables.lock)', () => {
    expect(lockfile).toMatch(/iptc-netns-.*\/xtables\.lock$/);
  });

  it('waits by default, as iptables 1.8.9 does: a change made while another program holds the lock succeeds', async () => {
    expect(initialWait).toBe(true);
    Table.defaultWait = initialWait;
    const t = table();
    expect(t.wait).toBe(true);
    const lock = await holdLock(400);
    const started = performance.now();
    t.chain('INPUT').appendRule(tagged('waited'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await lock.release();
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment waited -j ACCEPT']);
  });

  it('a held lock fails at once with wait: false (Table.defaultWait = false in these tests): XTablesLockError (an IPTCError) naming the lock, kernel unchanged', async () => {
    const t = table();
    const before = save();
    const lock = await holdLock(5000);
    try {
      const started = performance.now();
      let err: unknown;
      try {
        t.chain('INPUT').appendRule(tagged('busy'));
      } catch (e) {
        err = e;
      }
      expect(performance.now() - started).toBeLessThan(500);
      expect(err).toBeInstanceOf(XTablesLockError);
      expect(err).toBeInstanceOf(IPTCError);
      expect((err as XTablesLockError).lockfile).toBe(lockfile);
      expect((err as Error).message).toContain('Another app is currently holding the xtables lock');
      expect((err as Error).message).toContain(lockfile);
    } finally {
      await lock.release();
    }
    expect(save()).toBe(before);
    t.chain('INPUT').appendRule(tagged('free'));
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment free -j ACCEPT']);
  });

  it('wait: seconds gives up after that long; Table.defaultWait applies to tables without wait', async () => {
    const lock = await holdLock(5000);
    try {
      const t = table({ wait: 0.3 });
      let started = performance.now();
      expect(() => t.chain('INPUT').appendRule(tagged('late'))).toThrow(/Stopped waiting after 0.3 s/);
      let waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(2000);
      Table.defaultWait = 0.2;
      const d = table();
      expect(d.wait).toBe(0.2);
      started = performance.now();
      expect(() => d.chain('INPUT').appendRule(tagged('late'))).toThrow(XTablesLockError);
      waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(190);
    } finally {
      await lock.release();
    }
    expect(rules('filter', 'INPUT')).toEqual([]);
  });

  it('wait: seconds succeeds once the holder lets go; wait: true waits as long as it takes', async () => {
    // The holder runs in another process; this one blocks in a synchronous call meanwhile.
    for (const wait of [5, true] as const) {
      resetKernel();
      const lock = await holdLock(400);
      const t = table({ wait });
      const started = performance.now();
      t.chain('INPUT').appendRule(tagged(`waited-${String(wait)}`));
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
      expect(rules('filter', 'INPUT')).toEqual([`-m comment --comment waited-${String(wait)} -j ACCEPT`]);
      await lock.release();
    }
  });

  it('rejects a bad wait with TypeError', () => {
    expect(() => table({ wait: -1 })).toThrow(TypeError);
    expect(() => table({ wait: 'x' as never })).toThrow(TypeError);
    expect(() => {
      Table.defaultWait = Number.NaN;
    }).toThrow(TypeError);
  });

  it('is the lock iptables takes: iptables-legacy -w 1 gives up while iptc holds it', () => {
    const t = table();
    let cli: ReturnType<typeof spawnSync> | undefined;
    // Table.edit runs its change between reading the fresh view and the commit, under the lock.
    t.edit((h) => {
      // iptables 1.8.9 waits for the lock by default, so -w 1 bounds the wait (it would deadlock here).
      cli = spawnSync('iptables-legacy', ['-w', '1', '-A', 'OUTPUT', '-j', 'ACCEPT'], { encoding: 'utf8', timeout: 10_000 });
      h.appendEntry('INPUT', tagged('inside').toEntry());
    });
    expect(cli!.status).toBe(4);
    expect(String(cli!.stderr)).toContain('Another app is currently holding the xtables lock');
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment inside -j ACCEPT']);
    expect(rules('filter', 'OUTPUT')).toEqual([]);
  });

  it('a batch commit with the lock busy throws and keeps the batch for a later commit()', async () => {
    const t = table({ autocommit: false });
    t.chain('INPUT').appendRule(tagged('kept'));
    const lock = await holdLock(5000);
    try {
      expect(() => t.commit()).toThrow(XTablesLockError);
    } finally {
      await lock.release();
    }
    expect(rules('filter', 'INPUT')).toEqual([]);
    expect(t.chain('INPUT').rules.map(String)).toEqual(['-m comment --comment kept -j ACCEPT']);
    t.commit();
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment kept -j ACCEPT']);
  });
});

describe.runIf(BACKEND === 'nft')('no xtables lock on nft', () => {
  it('a change while another program holds the xtables lock succeeds at once, even with wait: false, as with iptables-nft', async () => {
    const lock = await holdLock(5000);
    try {
      const t = table({ wait: false });
      t.chain('INPUT').appendRule(tagged('unlocked'));
      const cli = spawnSync(tools.iptables(), ['-w', '1', '-A', 'OUTPUT', '-j', 'ACCEPT'], { encoding: 'utf8', timeout: 10_000 });
      expect(cli.status, cli.stderr).toBe(0);
    } finally {
      await lock.release();
    }
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment unlocked -j ACCEPT']);
    expect(rules('filter', 'OUTPUT')).toEqual(['-j ACCEPT']);
  });
});

describe('no lost update', () => {
  it('a batch committed after a concurrent `iptables -R` (same rule count) keeps the replacement', () => {
    ipt(['-A', 'INPUT', '-m', 'comment', '--comment', 'old', '-j', 'ACCEPT']);
    const t = table({ autocommit: false });
    t.chain('OUTPUT').appendRule(tagged('batch'));
    // The flaw python-iptables has: the count is unchanged, so a commit of the stale copy is not
    // refused with EAGAIN and would silently put `old` back.
    ipt(['-R', 'INPUT', '1', '-m', 'comment', '--comment', 'new', '-j', 'ACCEPT']);
    t.commit();
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment new -j ACCEPT']);
    expect(rules('filter', 'OUTPUT')).toEqual(['-m comment --comment batch -j ACCEPT']);

    if (BACKEND === 'legacy') {
      // Control: committing a stale libiptc copy (what python-iptables does) loses the replacement.
      const stale = TableHandle.open(4, 'filter');
      try {
        stale.appendEntry('OUTPUT', tagged('stale').toEntry());
        ipt(['-R', 'INPUT', '1', '-m', 'comment', '--comment', 'newer', '-j', 'ACCEPT']);
        stale.commit();
      } finally {
        stale.free();
      }
      expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment new -j ACCEPT']);
    } else {
      // Control: on nf_tables the kernel itself refuses a stale view's transaction (ERESTART).
      const stale = nftBackend.open(4, 'filter');
      stale.appendEntry('OUTPUT', tagged('stale').toEntry());
      ipt(['-R', 'INPUT', '1', '-m', 'comment', '--comment', 'newer', '-j', 'ACCEPT']);
      expect(() => stale.commit()).toThrow(NftGenerationError);
      expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment newer -j ACCEPT']);
      expect(rules('filter', 'OUTPUT')).toEqual(['-m comment --comment batch -j ACCEPT']);
    }
  });

  it('a batch deletes a rule by its spec (the race found nft refusing it: the entry sat in a larger scratch buffer)', () => {
    ipt(['-A', 'INPUT', '-m', 'comment', '--comment', 'a1', '-j', 'ACCEPT']);
    ipt(['-A', 'INPUT', '-m', 'comment', '--comment', 'a2', '-j', 'ACCEPT']);
    const t = table({ autocommit: false });
    t.chain('INPUT').deleteRule(tagged('a1'));
    t.commit();
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment a2 -j ACCEPT']);
  });

  it('a pending change that no longer applies fails the commit as a whole, kernel as the other writer left it', () => {
    ipt(['-A', 'INPUT', '-m', 'comment', '--comment', 'gone', '-j', 'ACCEPT']);
    const t = table({ autocommit: false });
    t.chain('OUTPUT').appendRule(tagged('batch'));
    t.chain('INPUT').deleteRule(tagged('gone'));
    ipt(['-D', 'INPUT', '-m', 'comment', '--comment', 'gone', '-j', 'ACCEPT']);
    ipt(['-A', 'FORWARD', '-j', 'DROP']);
    const before = save('filter', { counters: true });
    expect(() => t.commit()).toThrow(IPTCError);
    expect(save('filter', { counters: true })).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------------
// The race

interface Op {
  actor: string;
  seq: number;
  op: 'add' | 'del' | 'anchor';
  tag: string;
  chain: string;
  ok: boolean;
  error?: string;
}

/** What each iptc process runs: OPS changes, autocommitted or in batches, each logged with its outcome. */
function iptcActor(id: string, seed: number, ops: number, batched: boolean): string {
  return `
const { Table, Rule } = iptc;
let s = ${seed} >>> 0;
const rnd = () => { let t = (s = (s + 0x6d2b79f5) >>> 0); t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const rule = (tag) => Rule.parse('-m comment --comment ' + tag + ' -j ACCEPT');
const t = new Table('filter', { autocommit: ${!batched}, wait: true });
if (t.backend !== '${BACKEND}') throw new Error('on ' + t.backend + ', not ${BACKEND}');
const log = [];
const live = [];
let pending = [];
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
    entry.ok = false;
    entry.error = String(e);
  }
  log.push(entry);
  if (${batched}) {
    pending.push(entry);
    if (pending.length >= 1 + Math.floor(rnd() * 5) || seq === ${ops} - 1) {
      try { t.commit(); } catch (e) { for (const p of pending) { p.ok = false; p.error = 'commit: ' + String(e); } }
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

/** The iptables -w loop (of the backend under test): the same kinds of changes, plus `-R shared 1` of the anchor rule. */
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
      await execFileP(tools.iptables(), ['-w', ...args]);
      if (entry.op === 'add') live.push([entry.tag, entry.chain]);
    } catch (e) {
      entry.ok = false;
      entry.error = String((e as { stderr?: string }).stderr ?? e);
    }
    log.push(entry);
  }
  return log;
}

describe(`iptc processes and an ${tools.iptables()} -w loop changing the same chains at once`, () => {
  const PROCS = 4;
  const OPS = profile(50, 500);
  const CLI_OPS = profile(70, 600);
  const seed = seedOf(20260406);

  it(`loses nothing (${PROCS} iptc processes x ${OPS} changes + ${CLI_OPS} CLI changes, seed ${seed})`, async () => {
    ipt(['-N', 'shared']);
    ipt(['-A', 'shared', '-m', 'comment', '--comment', 'anchor-init', '-j', 'ACCEPT']);
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
    // iptables-nft takes no lock: its `-I CHAIN 2` places the rule after the handle it read at position 1,
    // and when that rule went meanwhile the kernel refuses it (ENOENT) and iptables-nft 1.8.9 does not
    // try again. That is the tool's own race; the refused change did nothing.
    const toolRace = (o: Op) => BACKEND === 'nft' && o.actor === 'cli' && /failed \(No such file or directory\)/.test(o.error ?? '');
    const failed = logs.filter((o) => !o.ok && !toolRace(o));
    // Every iptc change must succeed (on legacy every actor waits for the lock; on nft iptc reads again).
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);

    // What must be there: per actor, its adds minus its deletes (each actor deletes only its own).
    const expected = new Map<string, string>();
    let anchor = 'anchor-init';
    for (const o of logs) {
      if (!o.ok) continue;
      if (o.op === 'add') expected.set(o.tag, o.chain);
      else if (o.op === 'del') expected.delete(o.tag);
      else anchor = o.tag;
    }
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const chain of ['INPUT', 'shared']) {
      for (const line of rules('filter', chain)) {
        const tag = /--comment (\S+)/.exec(line)?.[1] ?? line;
        if (seen.has(tag)) duplicates.push(tag);
        seen.set(tag, chain);
      }
    }
    expect(duplicates).toEqual([]);
    expect(rules('filter', 'shared')[0]).toBe(`-m comment --comment ${anchor} -j ACCEPT`);
    seen.delete(anchor);
    const missing = [...expected].filter(([tag, chain]) => seen.get(tag) !== chain).map(([tag]) => tag);
    const extra = [...seen.keys()].filter((tag) => !expected.has(tag));
    expect(missing, 'changes that reported success but are not in the kernel').toEqual([]);
    expect(extra, 'rules in the kernel that no successful change made').toEqual([]);

    const counts = { iptc: logs.filter((o) => o.actor !== 'cli').length, cli: cliLog!.length };
    console.log(
      `concurrency: ${PROCS} iptc processes (${counts.iptc} changes, half in batches) + ${tools.iptables()} -w ` +
        `(${counts.cli} changes, ${cliLog!.filter((o) => o.op === 'anchor').length} of them -R) in ${elapsed} ms: ` +
        `${logs.length - failed.length} succeeded, ${failed.length} failed, ${expected.size} rules expected, ` +
        `0 lost, 0 extra, 0 duplicated`,
    );
  }, LONG ? 900_000 : 120_000);
});
