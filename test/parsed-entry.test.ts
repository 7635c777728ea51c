// A rule made by Rule.parse keeps the entry its spec compiled to and hands it to the backend as it is,
// while nothing about the rule has changed (src/iptc/compile.ts's ParsedRule). Any change must make the
// rule laid out again from what it now says: a header field, the counters, the matches list, the target,
// and any change to one of its Match or Target objects. Each case here changes a parsed rule before it
// is appended (in a batch and with autocommit) and reads back what the kernel holds: without the
// invalidation, the rule as parsed would be installed. Runs on both backends (vitest.config.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Match, Rule, Rule6, Table } from '../src/iptc/index.js';
import { compileSpec } from '../src/iptc/compile.js';
import { specWords } from '../src/iptc/parse.js';
import { IPSet } from '../src/ipset/index.js';
import { resetKernel, rules } from './kernel.js';

const CHAIN = 'PARSED';
const JUMP = 'TGT';

const open: Table[] = [];
beforeEach(() => resetKernel());
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

function table(autocommit: boolean): Table {
  const t = new Table('filter', { autocommit });
  open.push(t);
  return t;
}

interface Case {
  name: string;
  spec: string;
  change: (r: Rule) => void;
  /** What iptables-save prints for the changed rule (after `-A PARSED `). */
  saved: string;
  counters?: boolean;
}

const BASE = '-s 10.0.0.1/32 -p tcp -m tcp --dport 80 -m comment --comment c1 -j ACCEPT';
const TAIL = '-p tcp -m tcp --dport 80 -m comment --comment c1 -j ACCEPT';

const CASES: Case[] = [
  // Header fields.
  { name: 'src', spec: BASE, change: (r) => (r.src = '10.9.9.9'), saved: `-s 10.9.9.9/32 ${TAIL}` },
  { name: 'dst', spec: BASE, change: (r) => (r.dst = '!10.2.0.0/16'), saved: `-s 10.0.0.1/32 ! -d 10.2.0.0/16 ${TAIL}` },
  { name: 'inInterface', spec: BASE, change: (r) => (r.inInterface = 'eth1'), saved: `-s 10.0.0.1/32 -i eth1 ${TAIL}` },
  { name: 'outInterface', spec: BASE, change: (r) => (r.outInterface = 'veth+'), saved: `-s 10.0.0.1/32 -o veth+ ${TAIL}` },
  { name: 'protocol', spec: '-p tcp -j ACCEPT', change: (r) => (r.protocol = 'udp'), saved: '-p udp -j ACCEPT' },
  { name: 'src cleared', spec: BASE, change: (r) => (r.src = ''), saved: TAIL },
  { name: 'fragment', spec: '-s 10.0.0.1/32 -j DROP', change: (r) => (r.fragment = true), saved: '-s 10.0.0.1/32 -f -j DROP' },
  {
    name: 'fragmentInverted',
    spec: '-s 10.0.0.1/32 -j DROP',
    change: (r) => (r.fragmentInverted = true),
    saved: '-s 10.0.0.1/32 ! -f -j DROP',
  },
  {
    name: 'counters',
    spec: BASE,
    change: (r) => r.setCounters(5, 600),
    saved: `[5:600] -s 10.0.0.1/32 ${TAIL}`,
    counters: true,
  },
  // The target.
  { name: 'goto', spec: `-s 10.0.0.1/32 -j ${JUMP}`, change: (r) => (r.target!.goto = true), saved: `-s 10.0.0.1/32 -g ${JUMP}` },
  {
    name: 'standardTarget',
    spec: BASE,
    change: (r) => (r.target!.standardTarget = 'DROP'),
    saved: `-s 10.0.0.1/32 ${TAIL.replace('ACCEPT', 'DROP')}`,
  },
  { name: 'target set to a name', spec: BASE, change: (r) => (r.target = 'RETURN'), saved: `-s 10.0.0.1/32 ${TAIL.replace('ACCEPT', 'RETURN')}` },
  { name: 'target removed', spec: BASE, change: (r) => (r.target = null), saved: `-s 10.0.0.1/32 ${TAIL.replace(' -j ACCEPT', '')}` },
  {
    name: 'createTarget',
    spec: BASE,
    change: (r) => r.createTarget('LOG', { 'log-prefix': 'made' }),
    saved: `-s 10.0.0.1/32 ${TAIL.replace('-j ACCEPT', '-j LOG --log-prefix made')}`,
  },
  {
    name: 'target set()',
    spec: '-p tcp -j LOG --log-prefix a',
    change: (r) => r.target!.set('log-prefix', 'b'),
    saved: '-p tcp -j LOG --log-prefix b',
  },
  { name: 'target unset()', spec: '-p tcp -j LOG --log-prefix a', change: (r) => r.target!.unset('log-prefix'), saved: '-p tcp -j LOG' },
  { name: 'target reset()', spec: '-p tcp -j LOG --log-prefix a --log-level 3', change: (r) => r.target!.reset(), saved: '-p tcp -j LOG' },
  {
    name: 'target setParameters()',
    spec: '-p tcp -j LOG --log-prefix a',
    change: (r) => r.target!.setParameters({ 'log-level': '2' }),
    saved: '-p tcp -j LOG --log-prefix a --log-level 2',
  },
  // The matches list.
  {
    name: 'createMatch',
    spec: BASE,
    change: (r) => r.createMatch('mark', { mark: '0x1' }),
    saved: `-s 10.0.0.1/32 ${TAIL.replace(' -j', ' -m mark --mark 0x1 -j')}`,
  },
  {
    name: 'addMatch',
    spec: BASE,
    change: (r) => r.addMatch(new Match(r, 'comment').set('comment', 'c2')),
    saved: `-s 10.0.0.1/32 ${TAIL.replace(' -j', ' -m comment --comment c2 -j')}`,
  },
  {
    name: 'removeMatch',
    spec: BASE,
    change: (r) => r.removeMatch(r.matches[1]!),
    saved: '-s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT',
  },
  { name: 'comment set', spec: BASE, change: (r) => (r.comment = 'other'), saved: `-s 10.0.0.1/32 ${TAIL.replace('c1', 'other')}` },
  { name: 'comment removed', spec: BASE, change: (r) => (r.comment = null), saved: '-s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT' },
  // A match object.
  { name: 'match set()', spec: BASE, change: (r) => r.matches[0]!.set('dport', '81'), saved: `-s 10.0.0.1/32 ${TAIL.replace('80', '81')}` },
  { name: 'match unset()', spec: BASE, change: (r) => r.matches[0]!.unset('dport'), saved: `-s 10.0.0.1/32 ${TAIL.replace(' --dport 80', '')}` },
  { name: 'match reset()', spec: BASE, change: (r) => r.matches[0]!.reset(), saved: `-s 10.0.0.1/32 ${TAIL.replace(' --dport 80', '')}` },
  {
    name: 'match setParameters()',
    spec: BASE,
    change: (r) => r.matches[0]!.setParameters({ dport: '82', sport: '1024' }),
    saved: `-s 10.0.0.1/32 ${TAIL.replace('--dport 80', '--sport 1024 --dport 82')}`,
  },
];

/** Appends each case's changed rule to PARSED, in order, and commits (autocommit: one by one). */
function appendAll(autocommit: boolean, cases: readonly Case[]): void {
  const t = table(autocommit);
  t.createChain(CHAIN);
  t.createChain(JUMP);
  const chain = t.chain(CHAIN);
  for (const c of cases) {
    const r = Rule.parse(c.spec);
    c.change(r);
    chain.appendRule(r);
  }
  if (!autocommit) t.commit();
}

describe('a parsed rule changed before it is appended is installed as changed', () => {
  for (const autocommit of [false, true]) {
    describe(autocommit ? 'autocommit' : 'batch', () => {
      for (const c of CASES) {
        it(c.name, () => {
          appendAll(autocommit, [c]);
          expect(rules('filter', CHAIN, { counters: c.counters })).toEqual([c.saved]);
        });
      }

      it('every change, one batch after another rule of the same shapes', () => {
        // Parsed rules of one plan share nothing that a change to one of them could reach.
        const t = table(autocommit);
        t.createChain(CHAIN);
        t.createChain(JUMP);
        const chain = t.chain(CHAIN);
        const expected: string[] = [];
        for (const c of CASES) {
          const r = Rule.parse(c.spec);
          c.change(r);
          chain.appendRule(r);
          const untouched = Rule.parse(c.spec);
          chain.appendRule(untouched);
          expected.push(c.counters ? c.saved.replace(/^\[\d+:\d+\] /, '') : c.saved, untouched.toString());
        }
        if (!autocommit) t.commit();
        expect(rules('filter', CHAIN)).toEqual(expected);
      });
    });
  }

  it('an unchanged parsed rule appends as parsed, and equals the same rule laid out again', () => {
    const t = table(false);
    t.createChain(JUMP);
    t.createChain(CHAIN);
    const specs = CASES.map((c) => c.spec);
    for (const spec of specs) t.chain(CHAIN).appendRule(Rule.parse(spec));
    t.commit();
    expect(rules('filter', CHAIN)).toEqual(specs.map((s) => Rule.parse(s).toString()));
    for (const spec of specs) expect(t.chain(CHAIN).hasRule(spec), spec).toBe(true);
  });
});

const unescape = (s: string) =>
  s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);

describe('the entry of a parsed rule', () => {
  /** Every rule spec of the conformance corpus and of the bench's rule sets, with its family. */
  function corpus(): [4 | 6, string][] {
    const text = readFileSync(join(import.meta.dirname, 'fixtures', 'conformance', 'baseline-legacy-1.8.9.tsv'), 'utf8');
    const [header, ...rows] = text.split('\n').filter(Boolean);
    const cols = header!.split('\t');
    const family = cols.indexOf('family');
    const rule = cols.indexOf('rule');
    const specs: [4 | 6, string][] = rows.map((row) => {
      const f = row.split('\t');
      return [f[family] === '6' ? 6 : 4, unescape(f[rule]!)];
    });
    // Rules as kube-proxy and a firewall named rule by rule write them (bench/rulesets.mjs).
    for (let i = 0; i < 20; i++) {
      specs.push(
        [4, `-d 10.96.0.${i}/32 -p tcp -m comment --comment "ns/svc-${i}:http cluster IP" -m tcp --dport ${80 + i} -j KUBE-SVC-${i}`],
        [4, `! -s 10.244.0.0/16 -d 10.96.0.${i}/32 -p tcp -m comment --comment "ns/svc-${i}:http" -m tcp --dport 80 -j KUBE-MARK-MASQ`],
        [4, `-m comment --comment "ns/svc-${i}:http -> 10.244.0.${i}:8080" -m statistic --mode random --probability 0.${i + 1}0000000000 -j KUBE-SEP-${i}`],
        [4, `-p tcp -m comment --comment "ns/svc-${i}" -m tcp -j DNAT --to-destination 10.244.0.${i}:8080`],
        [4, `-s 10.${i}.0.0/24 -p udp -m udp --dport ${1000 + i} -m conntrack --ctstate NEW -m comment --comment "rule ${i}" -j DROP`],
      );
    }
    return specs;
  }

  it('is the one the rule lays out from its Match and Target objects, with the same delete mask', () => {
    let compiled = 0;
    for (const [family, spec] of corpus()) {
      const RuleClass = family === 6 ? Rule6 : Rule;
      let kept: Rule;
      try {
        kept = RuleClass.parse(spec);
      } catch {
        continue;
      }
      if (compileSpec(family, specWords(spec)) !== null) compiled++;
      const laid = RuleClass.parse(spec);
      void laid.matches; // makes its objects: from then on it is laid out from them
      for (const form of ['xtables', 'nft'] as const) {
        const a = kept.toEntryWithMask(form);
        const b = laid.toEntryWithMask(form);
        expect(a.entry.equals(b.entry), `${spec} (${form})`).toBe(true);
        expect(a.mask.equals(b.mask), `${spec} mask (${form})`).toBe(true);
        expect(kept.scratchEntry(true, form).entry.subarray(0, a.entry.length).equals(a.entry), spec).toBe(true);
      }
      expect(kept.equals(laid) && laid.equals(kept), spec).toBe(true);
    }
    // The corpus exercises the compiled path, not only the option-by-option one.
    expect(compiled).toBeGreaterThan(1000);
  });

  it('names a set by the index it has when the rule is appended, not when it was parsed', () => {
    // A set match's build looks the set's index up: a set destroyed and made again since the parse has
    // another one, and the rule must name the set it names now.
    const ipset = new IPSet();
    try {
      ipset.create('first', { stype: 'hash:ip' });
      ipset.create('named', { stype: 'hash:ip' });
      const r = Rule.parse('-m set --match-set named src -j ACCEPT');
      ipset.destroy('named');
      ipset.destroy('first');
      ipset.create('named', { stype: 'hash:net' });
      const t = table(true);
      t.chain('INPUT').appendRule(r);
      expect(rules('filter', 'INPUT')).toEqual(['-m set --match-set named src -j ACCEPT']);
    } finally {
      ipset.close();
    }
  });
});
