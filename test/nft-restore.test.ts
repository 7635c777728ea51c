// restore() / restoreAll() on the nf_tables backend do what iptables-nft-restore does, checked against it
// as the oracle: the same starting ruleset restored by each gives the same `nft list ruleset` and
// `iptables-nft-save -c`; without --noflush the table is deleted and rebuilt (new table handle, new
// handles, counters and policies as the input says, undeclared chains gone). And a refused commit names
// the failing rule as its iptables command line with the errno, as on legacy.
import { describe, expect, it } from 'vitest';
import { RestoreError, Rule, Table, restoreAll } from '../src/iptc/index.js';
import { CommitError } from '../src/xtables/errors.js';
import { NftForeignRuleError } from '../src/iptc/nft-foreign-rule.js';
import { closedAfterEach, ipt, resetKernel, run, thrown } from './kernel.js';
import { freshNftEachTest, restoreNft } from './nft-kernel.js';

freshNftEachTest();
const open = closedAfterEach();

const nftSaveC = () => run('iptables-nft-save', ['-c']).split('\n').filter((l) => !l.startsWith('#')).join('\n');
const ruleset = () => run('nft', ['list', 'ruleset']);
const tableHandle = (table: string) => Number(/# handle (\d+)/.exec(run('nft', ['-a', 'list', 'table', 'ip', table]))![1]);
const ruleHandles = (table: string) => [...run('nft', ['-a', 'list', 'table', 'ip', table]).matchAll(/^\t\t.* # handle (\d+)$/gm)].map((m) => Number(m[1]));

/** What the namespace holds before each restore: policies, a user chain, counters, another table. */
const START = `*filter
:INPUT ACCEPT [11:1100]
:FORWARD DROP [12:1200]
:OUTPUT DROP [13:1300]
:old - [0:0]
[3:300] -A INPUT -s 1.1.1.1/32 -j ACCEPT
[4:400] -A INPUT -s 2.2.2.2/32 -j old
[1:100] -A old -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
[2:200] -A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
`;

function start(): void {
  run('nft', ['flush', 'ruleset']);
  run('iptables-nft-restore', ['-c'], START);
}

interface Outcome {
  ruleset: string;
  saved: string;
}

/** Restores `input` from START with iptables-nft-restore and with iptc; returns both outcomes. */
function both(input: string, flags: { noflush?: boolean; counters?: boolean }): { oracle: Outcome; iptc: Outcome; handles: { before: number; after: number } } {
  const args = [...(flags.noflush ? ['--noflush'] : []), ...(flags.counters ? ['--counters'] : [])];
  start();
  run('iptables-nft-restore', args, input);
  const oracle = { ruleset: ruleset(), saved: nftSaveC() };
  start();
  const before = tableHandle('filter');
  restoreAll(input, { backend: 'nft', noflush: flags.noflush, counters: flags.counters });
  return { oracle, iptc: { ruleset: ruleset(), saved: nftSaveC() }, handles: { before, after: tableHandle('filter') } };
}

const INPUT = `*filter
:INPUT ACCEPT [7:700]
:OUTPUT DROP [3:300]
:new - [5:500]
[5:500] -A INPUT -s 1.1.1.1/32 -j ACCEPT
[6:600] -A INPUT -p tcp -m tcp --dport 22 -j new
-A new -m comment --comment "kept?" -j DROP
COMMIT
`;

describe('restore on nft, against iptables-nft-restore', () => {
  it('without --noflush: the table is deleted and rebuilt, as iptables-nft-restore does it', () => {
    const { oracle, iptc, handles } = both(INPUT, {});
    expect(iptc).toEqual(oracle);
    // The undeclared FORWARD is gone (so ACCEPT [0:0], not the DROP it had), `old` is gone, every
    // counter is the input's... without --counters, 0; the nat table is untouched.
    expect(iptc.saved).toContain(':FORWARD ACCEPT [0:0]');
    expect(iptc.saved).toContain(':INPUT ACCEPT [0:0]');
    expect(iptc.saved).not.toContain('old');
    expect(iptc.saved).toContain('[2:200] -A POSTROUTING -o eth0 -j MASQUERADE');
    expect(handles.after).not.toBe(handles.before);
  });

  it('without --noflush, with --counters: rule and policy counters are the input\'s', () => {
    const { oracle, iptc } = both(INPUT, { counters: true });
    expect(iptc).toEqual(oracle);
    expect(iptc.saved).toContain(':INPUT ACCEPT [7:700]');
    expect(iptc.saved).toContain('[6:600] -A INPUT -p tcp -m tcp --dport 22 -j new');
  });

  it('with --noflush (and --counters): the rest stays, a declared chain is emptied, policies set', () => {
    for (const counters of [false, true]) {
      const text = INPUT.replace(':new - [5:500]', ':new - [5:500]\n:old - [0:0]');
      const { oracle, iptc, handles } = both(text, { noflush: true, counters });
      expect(iptc, `counters: ${counters}`).toEqual(oracle);
      expect(handles.after).toBe(handles.before);
    }
  });

  it('a restore of the same text twice gives new handles each time, as iptables-nft-restore', () => {
    start();
    restoreAll(INPUT, { backend: 'nft' });
    const first = ruleHandles('filter');
    const handle = tableHandle('filter');
    restoreAll(INPUT, { backend: 'nft' });
    expect(tableHandle('filter')).not.toBe(handle);
    expect(ruleHandles('filter')).toHaveLength(first.length);
  });

  it('refuses, changing nothing, where deleting the table would drop another program\'s rules or sets', () => {
    start();
    run('nft', ['add rule ip filter INPUT ip saddr { 10.0.0.1, 10.0.0.2 } accept']);
    const before = ruleset();
    const foreign = thrown(() => restoreAll(INPUT, { backend: 'nft' }));
    expect(foreign).toBeInstanceOf(NftForeignRuleError);
    expect(ruleset()).toBe(before);

    start();
    run('nft', ['add set ip filter blocklist { type ipv4_addr; }']);
    const withSet = ruleset();
    const set = thrown(() => restoreAll(INPUT, { backend: 'nft' })) as Error;
    expect((set as { errno?: number }).errno).toBe(95);
    expect(set.message).toMatch(/holds nf_tables objects iptables does not know/);
    expect(ruleset()).toBe(withSet);
    // --noflush leaves them alone, and so works.
    restoreAll('*filter\n-A INPUT -s 9.9.9.9/32 -j DROP\nCOMMIT\n', { backend: 'nft', noflush: true });
    expect(ruleset()).toContain('set blocklist');
  });
});

describe('commit errors on nft name the rule as its iptables command line, with the errno', () => {
  it('an autocommitted rule the kernel refuses: the same CommitError as on legacy', () => {
    resetKernel();
    const rule = Rule.parse('-p tcp -j DNAT --to-destination 192.0.2.1');
    const errors = (['legacy', 'nft'] as const).map((backend) => {
      const t = new Table('filter', { backend });
      open.push(t);
      return thrown(() => t.chain('INPUT').appendRule(rule)) as CommitError;
    });
    for (const e of errors) {
      expect(e).toBeInstanceOf(CommitError);
      expect(e.errno).toBe(22);
      expect(e.change).toBe('-A INPUT -p tcp -j DNAT --to-destination 192.0.2.1');
    }
    expect(errors[1]!.message).toMatch(/^the kernel refused `-A INPUT -p tcp -j DNAT --to-destination 192\.0\.2\.1' in table `filter': Invalid argument \(EINVAL, errno 22\); a match or target/);
    expect(ruleset()).toBe('');
    ipt(['-F', 'INPUT']);
  });

  it('a commit of several changes names the refused one first, then what failed after it, and applies nothing', () => {
    const t = new Table('filter', { backend: 'nft', autocommit: false });
    open.push(t);
    t.createChain('web');
    t.chain('web').appendRule(Rule.parse('-p tcp --dport 80 -j ACCEPT'));
    t.chain('INPUT').appendRule(Rule.parse('-s 10.0.0.0/8 -j web'));
    t.chain('INPUT').insertRule(Rule.parse('-p udp -j REDIRECT --to-ports 53'), 0);
    t.chain('INPUT').appendRule(Rule.parse('-p tcp -j DNAT --to-destination 192.0.2.1'));
    const e = thrown(() => t.commit()) as CommitError;
    expect(e).toBeInstanceOf(CommitError);
    expect(e.errno).toBe(22);
    expect(e.change).toBe('-I INPUT 1 -p udp -j REDIRECT --to-ports 53');
    // Each rule is placed by kept rules' handles, never by the refused one, so the jump is not refused
    // with it; a later rule the kernel refuses too is named after the first.
    expect(e.message).toContain("Invalid argument (EINVAL, errno 22); refused after it (maybe because of it): `-A INPUT -p tcp -j DNAT --to-destination 192.0.2.1': Invalid argument (EINVAL, errno 22)");
    expect(e.message).not.toContain('-j web');
    expect(ruleset()).toBe('');
  });

  it('a restore names the refused rule at its table\'s COMMIT line', () => {
    const e = thrown(() => restoreAll('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A OUTPUT -j SNAT --to-source 192.0.2.9\nCOMMIT\n', { backend: 'nft' })) as RestoreError;
    expect(e).toBeInstanceOf(RestoreError);
    expect(e.line).toBe(5);
    expect(e.message).toContain("`-A OUTPUT -j SNAT --to-source 192.0.2.9' in table `filter': Invalid argument (EINVAL, errno 22)");
    expect(ruleset()).toBe('');
    restoreNft('*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
  });
});
