// Rules written by iptables-nft (and iptables-nft-restore) and by plain nft, read back by the snapshot
// code and translated to entries: Rule.fromEntry(...).toString() prints what iptables-nft-save prints.
// Rules iptables cannot express without changing their meaning are refused as opaque, never guessed.
import { describe, expect, it } from 'vitest';
import { run } from './kernel.js';
import { decodedRules, freshNftEachTest, iptNft, nfproto, restoreNft, savedRules, sharedSocket } from './nft-kernel.js';
import { readSnapshot, rulesOf } from '../src/nft/snapshot.js';
import { NftOpaqueRuleError } from '../src/nft/errors.js';
import { Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { NftBatch } from '../src/nft/batch.js';

freshNftEachTest();
const io = sharedSocket();

const RULESET_V4 = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
:logdrop - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment "ssh from lan" -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j web
-A INPUT -p udp -m udp --sport 53 --dport 1024:65535 -j ACCEPT
-A INPUT -p tcp -m tcp ! --sport 1:1023 ! --dport 0:1023 -j DROP
-A INPUT -p tcp -m tcp --sport 7 --dport 8 -j DROP
-A INPUT -p udp -m udp --dport 4:3 -j DROP
-A INPUT -p udp -m udp ! --sport 9:8 -j ACCEPT
-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m limit --limit 25/min --limit-burst 100 -j ACCEPT
-A INPUT -m mark --mark 0x1/0xf -j DROP
-A INPUT -m mark ! --mark 0x10 -j RETURN
-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 1/sec -j ACCEPT
-A INPUT -d 192.168.1.0/24 ! -i eth+ -f -j DROP
-A FORWARD -i eth0 ! -o eth1 -j DROP
-A INPUT ! -f -j NFLOG --nflog-prefix "in drop" --nflog-group 3 --nflog-size 64 --nflog-threshold 5
-A INPUT -j LOG --log-prefix "INPUT: " --log-level 6
-A INPUT ! -p tcp -j REJECT --reject-with icmp-host-prohibited
-A web -s 1.2.3.4/32 -j RETURN
-A web -p tcp -m tcp --dport 443 -m state --state NEW -g logdrop
-A logdrop -j DROP
-A web -m comment --comment "end of web"
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 203.0.113.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080
-A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE
-A POSTROUTING -s 10.1.0.0/16 -j SNAT --to-source 203.0.113.2
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 25 -j MARK --set-xmark 0x2/0xffffffff
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack
-A OUTPUT -j TRACE
COMMIT
`;

const RULESET_V6 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 2001:db8::/32 -p tcp -m tcp --dport 443 -j ACCEPT
-A INPUT -s fe80::/ffff:0:ffff:: -i eth0 -j DROP
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT
-A INPUT -d ::1/128 ! -p udp -m comment --comment v6 -j LOG
COMMIT
`;

/** Every chain's decoded rules print as iptables-nft-save prints them, in order. */
function expectSameAsSave(family: 4 | 6, table: string): void {
  const saved = savedRules(table, family);
  expect(saved.size).toBeGreaterThan(0);
  for (const [chain, lines] of saved) expect(decodedRules(io.sock, family, table, chain), `${table}/${chain}`).toEqual(lines);
}

describe('reading rules iptables-nft wrote', () => {
  it('an iptables-nft-restore ruleset, every table, reads back as iptables-nft-save prints it', () => {
    restoreNft(RULESET_V4);
    for (const table of ['filter', 'nat', 'mangle', 'raw']) expectSameAsSave(4, table);
  });

  it('IPv6 rules from ip6tables-nft-restore', () => {
    restoreNft(RULESET_V6, 6);
    expectSameAsSave(6, 'filter');
  });

  it('what is read writes back as the very same expressions (except `! --dport 0:N`, which reads as N+1:65535)', () => {
    restoreNft(RULESET_V4);
    restoreNft(RULESET_V6, 6);
    let compared = 0;
    for (const [family, table] of [[4, 'filter'], [4, 'nat'], [4, 'mangle'], [4, 'raw'], [6, 'filter']] as const) {
      // Every rule, decoded, is written again into a copy of its chain; the kernel must hold the same.
      const snap = readSnapshot(io.sock, nfproto(family), table);
      const batch = new NftBatch(family);
      for (const [chain, rules] of snap.rules) {
        batch.addChain(table, `rt-${chain}`);
        for (const rule of rules) batch.appendRule(table, `rt-${chain}`, rule.toEntry());
      }
      batch.commit(io.sock, { genid: snap.genid });
      const after = readSnapshot(io.sock, nfproto(family), table);
      for (const [chain, rules] of snap.rules) {
        const copies = rulesOf(after, `rt-${chain}`);
        expect(copies).toHaveLength(rules.length);
        rules.forEach((rule, i) => {
          const text = (family === 6 ? Rule6 : Rule).fromEntry(rule.toEntry()).toString();
          if (text.includes('--dport 1024:65535')) return;
          expect(copies[i]!.expressions.toString('hex'), text).toBe(rule.expressions.toString('hex'));
          compared++;
        });
      }
    }
    expect(compared).toBeGreaterThan(25);
  });

  it('rules appended one by one with iptables-nft -A, a set match included', () => {
    run('ipset', ['create', 'nftread', 'hash:net']);
    try {
      iptNft(['-A', 'INPUT', '-m', 'set', '--match-set', 'nftread', 'src', '-j', 'DROP']);
      iptNft(['-A', 'INPUT', '-p', 'udp', '-m', 'udp', '!', '--dport', '53', '-j', 'ACCEPT']);
      iptNft(['-A', 'INPUT', '!', '-i', '+', '-j', 'DROP']);
      iptNft(['-A', 'INPUT', '-i', '+', '-j', 'ACCEPT']);
      iptNft(['-A', 'INPUT', '-j', 'NFLOG', '--nflog-prefix', 'n'.repeat(70)]);
      iptNft(['-I', 'INPUT', '-c', '7', '700', '-s', '10.0.0.1', '-j', 'ACCEPT']);
      expectSameAsSave(4, 'filter');
      // Counters come with the rule, and the -c preset is in the entry.
      const snap = readSnapshot(io.sock, 2, 'filter');
      const first = rulesOf(snap, 'INPUT')[0]!;
      expect(first.counters).toEqual({ packets: 7n, bytes: 700n });
      expect(Rule.fromEntry(first.toEntry()).counters).toEqual({ packets: 7n, bytes: 700n });
    } finally {
      run('nft', ['flush', 'ruleset']);
      run('ipset', ['destroy', 'nftread']);
    }
  });
});

describe('reading rules plain nft wrote', () => {
  it('the shapes iptables-nft understands read back as iptables-nft-save prints them', () => {
    iptNft(['-N', 'plain']);
    const nftRules = [
      'tcp dport 22 accept',
      'ip saddr 10.0.0.0/8 counter drop',
      'iifname "eth*" counter accept',
      'meta mark 0x10 counter',
      'tcp dport 1000-2000 counter drop',
      'udp sport != 1-5 counter',
      'ip protocol tcp counter return',
      'limit rate 10/second counter accept',
      'log group 5 counter',
      'counter accept comment "from nft"',
      'meta pkttype broadcast counter drop',
      'tcp flags syn tcp dport 80 counter',
    ];
    for (const r of nftRules) run('nft', ['add', 'rule', 'ip', 'filter', 'plain', ...r.split(' ')]);
    expectSameAsSave(4, 'filter');
  });

  it('rules iptables cannot express are opaque: a typed refusal naming the expression, never a guess', () => {
    iptNft(['-N', 'other']);
    const cases: [string, RegExp, string | undefined][] = [
      // iptables-nft-save prints this one as a bare `-A other -j ACCEPT`.
      ['ip saddr { 1.2.3.4, 5.6.7.8 } accept', /set lookup/, 'lookup'],
      ['ct state new accept', /no iptables form/, 'ct'],
      ['log prefix "x" accept', /syslog/, 'log'],
      ['tcp dport 22 tcp dport 23 accept', /one port range/, 'cmp'],
      ['ip ttl 5 drop', /network header bytes 8\+1/, 'cmp'],
      ['limit rate over 10/second drop', /inverted limit/, 'limit'],
      ['tcp dport 22 reject', /no iptables form/, 'reject'],
      ['iif "lo" accept', /meta key 4/, 'cmp'],
    ];
    for (const [text] of cases) run('nft', ['add', 'rule', 'ip', 'filter', 'other', ...text.split(' ')]);
    const rules = rulesOf(readSnapshot(io.sock, nfproto(4), 'filter'), 'other');
    expect(rules).toHaveLength(cases.length);
    rules.forEach((rule, i) => {
      const [text, reason, expression] = cases[i]!;
      let err: unknown;
      try {
        rule.toEntry();
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(NftOpaqueRuleError);
      expect((err as NftOpaqueRuleError).reason, text).toMatch(reason);
      expect((err as NftOpaqueRuleError).expression, text).toBe(expression);
      expect((err as NftOpaqueRuleError).errno).toBe(95);
    });
    // Its counter can still be read, without decoding the rule.
    expect(rules[0]!.counters).toEqual({ packets: 0n, bytes: 0n });
  });
});

describe('a Table on the nft backend reads a chain as one dump, printed by the shim a chunk at a time', () => {
  /** iptables-nft-save's text of one table, without its comment lines. */
  const nftSave = (table: string, family: 4 | 6 = 4) =>
    `${run(family === 6 ? 'ip6tables-nft-save' : 'iptables-nft-save', ['-c', '-t', table]).split('\n').filter((l) => l !== '' && !l.startsWith('#')).join('\n')}\n`;

  it('save(), toString() and parameters read as iptables-nft-save prints them, in every table of both families', () => {
    restoreNft(RULESET_V4);
    restoreNft(RULESET_V6, 6);
    for (const [family, table] of [[4, 'filter'], [4, 'nat'], [4, 'mangle'], [4, 'raw'], [6, 'filter']] as const) {
      const t = family === 6 ? new Table6(table, { backend: 'nft' }) : new Table(table, { backend: 'nft' });
      expect(t.save({ counters: true }), `${family}/${table}`).toBe(nftSave(table, family));
      for (const [chain, lines] of savedRules(table, family)) {
        const rules = t.chain(chain).rules;
        expect(rules.map((r) => r.toString()), `${family}/${table}/${chain}`).toEqual(lines);
        // Each match's parameters are its own part of the printed line.
        rules.forEach((r, i) => {
          for (const m of r.matches) expect(lines[i]).toContain(`-m ${m.name}${m.saveText()}`);
        });
      }
      t.close();
    }
    const web = new Table('filter', { backend: 'nft' }).chain('web').rules;
    expect(web[1]!.matches.map((m) => m.parameters)).toEqual([{ dport: '443' }, { state: 'NEW' }]);
    expect(web[1]!.target?.goto).toBe(true);
  });

  it('a jump to a chain whose name is not ASCII, and rules not committed yet, read as they are', () => {
    restoreNft('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:über - [0:0]\n' +
      '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh ü" -j über\n-A über -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n');
    const t = new Table('filter', { backend: 'nft', autocommit: false });
    const input = t.chain('INPUT').rules;
    expect(input.map((r) => r.toString())).toEqual(['-p tcp -m tcp --dport 22 -m comment --comment "ssh ü" -j über']);
    expect(input[0]!.target?.name).toBe('über');
    expect(input[0]!.matches.map((m) => m.parameters)).toEqual([{ dport: '22' }, { comment: 'ssh ü' }]);
    // (iptc itself names chains in ASCII only.)
    t.chain('über').appendRule(Rule.parse('-p udp -m udp --dport 53 -m comment --comment "dns" -j RETURN'));
    t.chain('INPUT').insertRule(Rule.parse('-i lo -j ACCEPT'));
    expect(t.save()).toBe(
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:über - [0:0]\n-A INPUT -i lo -j ACCEPT\n' +
        '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh ü" -j über\n-A über -s 10.0.0.0/8 -j ACCEPT\n' +
        '-A über -p udp -m udp --dport 53 -m comment --comment dns -j RETURN\nCOMMIT\n',
    );
    t.commit();
    expect(new Table('filter', { backend: 'nft' }).save({ counters: true })).toBe(nftSave('filter'));
  });
});
