// An NFLOG prefix longer than the 63 characters xt_nflog_info holds: iptables-nft writes it whole (from
// the parser's udata, up to 127), iptables-legacy cuts it. The nft backend writes it as iptables-nft does,
// through every path a rule takes to the kernel; the legacy backend keeps legacy's 63.
import { afterAll, describe, expect, it } from 'vitest';
import { Rule, Table } from '../src/iptc/index.js';
import { closedAfterEach, resetKernel, rules as legacyRules, run } from './kernel.js';
import { freshNftEachTest, iptNft, savedRules } from './nft-kernel.js';

freshNftEachTest();
const open = closedAfterEach();
afterAll(() => resetKernel());

const LONG = 'p'.repeat(40) + 'q'.repeat(25);
const SPEC = `-j NFLOG --nflog-prefix ${LONG}`;

function table(backend: 'nft' | 'legacy'): Table {
  const t = new Table('filter', { backend });
  open.push(t);
  return t;
}

const saved = () => savedRules('filter').get('INPUT') ?? [];

describe('nft backend: an NFLOG prefix of 65 characters', () => {
  it('is written whole by appendRule, read back whole, and deleted by its spec', () => {
    const t = table('nft');
    t.chain('INPUT').appendRule(Rule.parse(SPEC));
    expect(saved()).toEqual([SPEC]);
    expect(run('nft', ['list', 'chain', 'ip', 'filter', 'INPUT'])).toContain(`log prefix "${LONG}" group 0`);
    expect(t.chain('INPUT').rules.map(String)).toEqual([SPEC]);
    // A delete by spec compares with the whole prefix too, as iptables-nft -D does.
    t.chain('INPUT').deleteRule(Rule.parse(SPEC));
    expect(saved()).toEqual([]);
  });

  it('is written whole by insertRule, by a batch commit and by restore', () => {
    const t = table('nft');
    t.chain('INPUT').insertRule(Rule.parse(SPEC));
    const batch = table('nft');
    batch.autocommit = false;
    batch.chain('INPUT').appendRule(Rule.parse(SPEC));
    batch.commit();
    t.restore(`*filter\n-A INPUT ${SPEC}\nCOMMIT\n`, { noflush: true });
    expect(saved()).toEqual([SPEC, SPEC, SPEC]);
  });

  it('made by iptables-nft, is found and deleted through iptc', () => {
    iptNft(['-A', 'INPUT', ...SPEC.split(' ')]);
    const t = table('nft');
    expect(t.chain('INPUT').hasRule(Rule.parse(SPEC))).toBe(true);
    t.chain('INPUT').deleteRule(Rule.parse(SPEC));
    expect(saved()).toEqual([]);
  });

  it('stays cut to 63 characters on the legacy backend, as iptables-legacy does', () => {
    resetKernel();
    table('legacy').chain('INPUT').appendRule(Rule.parse(SPEC));
    expect(legacyRules('filter', 'INPUT')).toEqual([`-j NFLOG --nflog-prefix ${LONG.slice(0, 63)}`]);
  });
});
