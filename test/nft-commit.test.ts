// The shape of an nft backend commit. New rules among the rules the kernel keeps: runs of new rules at
// the head, between kept rules (after a replaced one too) and at the tail, with deletes mixed in, land
// where iptables-nft puts the same commands, kept rules keep their handles, and no rule is placed by the
// batch id of another (the kernel looks those up by walking the whole transaction: quadratic). A chain
// emptied of all its rules is flushed in one message, not rule by rule (each a walk of the chain).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rule, Table } from '../src/iptc/index.js';
import { NftBatch } from '../src/nft/batch.js';
import { closedAfterEach, run } from './kernel.js';
import { freshNftEachTest, iptNft } from './nft-kernel.js';

freshNftEachTest();
const open = closedAfterEach();
afterEach(() => vi.restoreAllMocks());

const text = () => run('iptables-nft-save', ['-t', 'filter']).split('\n').filter((l) => !l.startsWith('#')).join('\n');
const spec = (n: number, verdict = 'ACCEPT') =>
  ['-s', `10.${n >> 8}.${n & 255}.0/24`, '-p', 'tcp', '-m', 'tcp', '--dport', String(1000 + n), '-m', 'comment', '--comment', `r${n}`, '-j', verdict];
/** The handles of INPUT's rules by their comment (`nft` shows the port: rule n has --dport 1000 + n). */
function handlesByComment(): Map<string, number> {
  const out = run('nft', ['-a', 'list', 'chain', 'ip', 'filter', 'INPUT']);
  const found = new Map([...out.matchAll(/dport (\d+) .* # handle (\d+)$/gm)].map((m) => [`r${Number(m[1]) - 1000}`, Number(m[2])]));
  expect(found.size).toBeGreaterThan(0);
  return found;
}

const KEPT = 6;
/** The same edits in iptables' words: runs at the head, in the middle, after a replaced rule, at the tail. */
const COMMANDS: string[][] = [
  ['-I', 'INPUT', '1', ...spec(100)],
  ['-I', 'INPUT', '2', ...spec(101, 'DROP')],
  ['-D', 'INPUT', '5'],
  ['-I', 'INPUT', '5', ...spec(102)],
  ['-I', 'INPUT', '6', ...spec(103)],
  ['-I', 'INPUT', '7', ...spec(104, 'DROP')],
  ['-R', 'INPUT', '4', ...spec(105)],
  ['-I', 'INPUT', '5', ...spec(106)],
  ['-A', 'INPUT', ...spec(107)],
  ['-A', 'INPUT', ...spec(108, 'DROP')],
  ['-A', 'INPUT', '-j', 'ACCEPT'],
];

function apply(t: Table, args: string[]): void {
  const [cmd, chain, ...rest] = args as [string, string, ...string[]];
  const c = t.chain(chain);
  if (cmd === '-A') c.appendRule(Rule.parse(rest));
  else if (cmd === '-I') c.insertRule(Rule.parse(rest.slice(1)), Number(rest[0]) - 1);
  else if (cmd === '-R') c.replaceRule(Rule.parse(rest.slice(1)), Number(rest[0]) - 1);
  else if (cmd === '-D') c.deleteRuleAt(Number(rest[0]) - 1);
}

describe('nft backend: new rules among kept ones', () => {
  it('one commit puts every run where iptables-nft does, placed by kernel handles only', () => {
    const load = () => {
      for (let i = 0; i < KEPT; i++) iptNft(['-A', 'INPUT', ...spec(i)]);
    };
    load();
    for (const c of COMMANDS) iptNft(c);
    const expected = text();
    run('nft', ['flush', 'ruleset']);
    load();
    const before = handlesByComment();

    const byId: unknown[] = [];
    for (const verb of ['appendRule', 'insertRule'] as const) {
      const real = NftBatch.prototype[verb];
      vi.spyOn(NftBatch.prototype, verb).mockImplementation(function (this: NftBatch, ...args: Parameters<typeof real>) {
        const position = args[3];
        if (position !== undefined && 'op' in position) byId.push(position);
        return real.apply(this, args);
      });
    }
    const t = new Table('filter', { backend: 'nft', autocommit: false });
    open.push(t);
    for (const c of COMMANDS) apply(t, c);
    t.commit();

    expect(text()).toBe(expected);
    expect(byId).toEqual([]);
    // r2 was deleted and r1 replaced in place (same handle, new rule r105); the others kept theirs.
    const after = handlesByComment();
    for (const r of ['r0', 'r3', 'r4', 'r5']) expect(after.get(r)).toBe(before.get(r)!);
    expect(after.has('r2')).toBe(false);
    expect(before.size).toBe(KEPT);
    expect(after.get('r105')).toBe(before.get('r1')!);
  });

  it('a run of new rules in an empty chain, or at the head of a kept one, keeps its order', () => {
    const t = new Table('filter', { backend: 'nft', autocommit: false });
    open.push(t);
    const input = t.chain('INPUT');
    for (let i = 0; i < 50; i++) input.appendRule(Rule.parse(spec(i)));
    t.commit();
    const t2 = new Table('filter', { backend: 'nft', autocommit: false });
    open.push(t2);
    for (let i = 0; i < 20; i++) t2.chain('INPUT').insertRule(Rule.parse(spec(200 + i)), i);
    t2.commit();
    const comments = [...text().matchAll(/--comment (r\d+)/g)].map((m) => m[1]);
    expect(comments).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `r${200 + i}`),
      ...Array.from({ length: 50 }, (_, i) => `r${i}`),
    ]);
  });
});

describe('nft backend: a chain emptied of every rule', () => {
  function spyDeletes(): { deletes: number; flushes: string[] } {
    const seen = { deletes: 0, flushes: [] as string[] };
    const del = NftBatch.prototype.deleteRule;
    vi.spyOn(NftBatch.prototype, 'deleteRule').mockImplementation(function (this: NftBatch, ...args: Parameters<typeof del>) {
      seen.deletes++;
      return del.apply(this, args);
    });
    const flush = NftBatch.prototype.flushRules;
    vi.spyOn(NftBatch.prototype, 'flushRules').mockImplementation(function (this: NftBatch, ...args: Parameters<typeof flush>) {
      seen.flushes.push(args[1] ?? '');
      return flush.apply(this, args);
    });
    return seen;
  }

  it('is flushed in one message by a commit; a chain that keeps a rule loses the others one by one', () => {
    for (let i = 0; i < 30; i++) iptNft(['-A', 'INPUT', ...spec(i)]);
    iptNft(['-A', 'OUTPUT', ...spec(50)]);
    iptNft(['-A', 'OUTPUT', ...spec(51)]);
    iptNft(['-A', 'OUTPUT', ...spec(52)]);
    const kept = handlesByComment();
    const seen = spyDeletes();
    // (A restore without --noflush deletes the whole table instead, as iptables-nft-restore: test/nft-restore.test.ts.)
    const t = new Table('filter', { backend: 'nft', autocommit: false });
    open.push(t);
    t.chain('INPUT').flush();
    t.chain('INPUT').appendRule(Rule.parse(spec(300).join(' ')));
    t.chain('OUTPUT').flush();
    t.commit();
    expect(seen.flushes).toEqual(['INPUT', 'OUTPUT']);
    expect(seen.deletes).toBe(0);
    expect([...text().matchAll(/--comment (r\d+)/g)].map((m) => m[1])).toEqual(['r300']);
    expect(handlesByComment().get("r300")).toBeGreaterThan(Math.max(...kept.values()));

    iptNft(['-A', 'INPUT', ...spec(301)]);
    iptNft(['-A', 'INPUT', ...spec(302)]);
    const t2 = new Table('filter', { backend: 'nft', autocommit: false });
    open.push(t2);
    t2.chain('INPUT').deleteRuleAt(0);
    t2.chain('INPUT').deleteRuleAt(1);
    t2.commit();
    expect(seen.deletes).toBe(2);
    expect(seen.flushes).toEqual(['INPUT', 'OUTPUT']);
    expect([...text().matchAll(/--comment (r\d+)/g)].map((m) => m[1])).toEqual(['r301']);
  });
});
