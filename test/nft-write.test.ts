// Rules built by Rule.parse, encoded by the nf_tables codec and committed by the batch code are exactly
// what iptables-nft 1.8.9 writes for the same spec: the kernel holds the same expressions (compared
// byte for byte and as `nft --debug=netlink` prints them), iptables-nft-save prints the spec, and
// `iptables-nft -D CHAIN spec` finds and deletes the rule.
import { describe, expect, it } from 'vitest';
import { run, thrown } from './kernel.js';
import {
  appendParsed,
  entryRule,
  freshNftEachTest,
  iptNft,
  netlinkDebug,
  nfproto,
  parseRule,
  savedRules,
  sharedSocket,
} from './nft-kernel.js';
import { readSnapshot, rulesOf } from '../src/nft/snapshot.js';
import { NftBatch } from '../src/nft/batch.js';
import { NftTranslateError } from '../src/nft/errors.js';
import { buildExtension, type Family } from '../src/xtables/shim.js';

freshNftEachTest();
const io = sharedSocket();

/** Specs in the form iptables-nft-save prints them, so that the saved text must equal the spec. */
const FILTER_V4 = [
  '-s 10.0.0.0/8 -i eth0 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment x -j ACCEPT',
  '-p udp -m udp --sport 53 --dport 1000:2000 -j DROP',
  '-p tcp -m tcp --sport 1 --dport 2 -j RETURN',
  '-p tcp -m tcp ! --sport 1 ! --dport 2 -j DROP',
  '-p tcp -m tcp ! --sport 5 --dport 6 -j DROP',
  '-p tcp -m tcp --dport 0:1023 -j ACCEPT',
  '-p udp -m udp ! --sport 1000:2000 -j DROP',
  '-d 192.168.0.0/255.255.0.255 ! -i eth+ -o lo -j ACCEPT',
  '-s 10.1.2.0/24 -d 10.9.0.0/20 -j DROP',
  '! -s 10.0.0.1/32 ! -d 10.0.0.0/24 ! -p tcp -j REJECT --reject-with icmp-port-unreachable',
  '-m mark --mark 0x10/0xff -j ACCEPT',
  '-m mark ! --mark 0x1 -j DROP',
  '-m limit --limit 7/hour --limit-burst 3 -j ACCEPT',
  '-m limit --limit 10/sec -j ACCEPT',
  '-f -j DROP',
  '! -f -j ACCEPT',
  '-p tcp -m tcp --tcp-flags SYN,ACK SYN -j DROP',
  '-p tcp -m tcp --dport 80 ! --tcp-flags FIN,SYN,RST,ACK SYN -j DROP',
  '-p tcp -m tcp --tcp-option 5 -j DROP',
  '-p tcp -m tcp',
  '-j NFLOG --nflog-prefix hello --nflog-group 5 --nflog-size 100 --nflog-threshold 2',
  '-j NFLOG',
  '-j LOG --log-prefix "x "',
  '! -i + -j DROP',
  '-o eth1 -j MYCHAIN',
  '-i veth+ -g MYCHAIN',
  '-s 1.2.3.4/32',
  '-p icmp -m icmp --icmp-type 8 -j ACCEPT',
  '-p tcp -m multiport --dports 80,443 -j ACCEPT',
  '-m state --state RELATED,ESTABLISHED -j ACCEPT',
  '-p tcp -m comment --comment "two words" -m mark --mark 0x2',
];

const FILTER_V6 = [
  '-s 2001:db8::/32 -p tcp -m tcp --dport 443 -j ACCEPT',
  '-d ::1/128 -p udp -m udp --dport 53 -j DROP',
  '-s 2001:db8::/ffff:ffff::ffff:0:0 -j DROP',
  '-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT',
  '-i eth0 -j LOG --log-prefix v6',
  '! -p udp -m comment --comment six -j ACCEPT',
];

/** Rule.parse normalises a few words (`-m tcp -p tcp`); the saved text is what both tools print. */
function writeBoth(family: Family, table: string, specs: string[]): void {
  // The reference: iptables-nft itself, into REF; ours into OURS (user chains, so jumps resolve in both).
  iptNft(['-t', table, '-N', 'REF'], family);
  iptNft(['-t', table, '-N', 'MYCHAIN'], family);
  for (const spec of specs) iptNft(['-t', table, '-A', 'REF', ...splitWords(spec)], family);
  appendParsed(io.sock, family, table, 'OURS', specs, { userChain: true });
}

function splitWords(spec: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(spec); m; m = re.exec(spec)) words.push(m[1] ?? m[2]!);
  return words;
}

function compareChains(family: Family, table: string, specs: string[]): void {
  const saved = savedRules(table, family);
  // The saved text of each of our rules is the reference's, and the spec itself.
  expect(saved.get('OURS')).toEqual(saved.get('REF'));
  expect(saved.get('OURS')).toEqual(specs);
  // The kernel holds the same expressions: as nft prints them, and byte for byte.
  expect(netlinkDebug(table, 'OURS', family)).toEqual(netlinkDebug(table, 'REF', family));
  const snap = readSnapshot(io.sock, nfproto(family), table);
  const ours = rulesOf(snap, 'OURS').map((r) => r.expressions.toString('hex'));
  const ref = rulesOf(snap, 'REF').map((r) => r.expressions.toString('hex'));
  expect(ours).toEqual(ref);
}

describe('rules written by the codec are iptables-nft rules', () => {
  it('IPv4 filter: same expressions, same saved text, deleted by iptables-nft -D', () => {
    writeBoth(4, 'filter', FILTER_V4);
    compareChains(4, 'filter', FILTER_V4);
    for (const spec of FILTER_V4) iptNft(['-t', 'filter', '-D', 'OURS', ...splitWords(spec)]);
    expect(savedRules('filter').get('OURS')).toBeUndefined();
    expect(savedRules('filter').get('REF')).toHaveLength(FILTER_V4.length);
  });

  it('IPv6 filter: same expressions, same saved text, deleted by ip6tables-nft -D', () => {
    writeBoth(6, 'filter', FILTER_V6);
    compareChains(6, 'filter', FILTER_V6);
    for (const spec of FILTER_V6) iptNft(['-t', 'filter', '-D', 'OURS', ...splitWords(spec)], 6);
    expect(savedRules('filter', 6).get('OURS')).toBeUndefined();
  });

  it('nat, mangle and raw: DNAT, MARK, TRACE', () => {
    const nat = ['-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080', '-s 10.0.0.0/8 -j MASQUERADE'];
    writeBoth(4, 'nat', nat);
    compareChains(4, 'nat', nat);
    const mangle = ['-j MARK --set-xmark 0x1/0xffffffff', '-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu'];
    writeBoth(4, 'mangle', mangle);
    compareChains(4, 'mangle', mangle);
    const raw = ['-j TRACE', '-p udp -j CT --notrack'];
    writeBoth(4, 'raw', raw);
    compareChains(4, 'raw', raw);
  });

  it('a set match carries the set index libxtables resolved', () => {
    run('ipset', ['create', 'nftcodec', 'hash:ip']);
    try {
      const specs = ['-m set --match-set nftcodec src -j DROP', '-m set ! --match-set nftcodec dst,src -j ACCEPT'];
      writeBoth(4, 'filter', specs);
      compareChains(4, 'filter', specs);
    } finally {
      run('nft', ['flush', 'ruleset']);
      run('ipset', ['destroy', 'nftcodec']);
    }
  });

  it('rules land in builtin chains iptables-nft recognises, with policy counters', () => {
    appendParsed(io.sock, 4, 'filter', 'INPUT', ['-p tcp -m tcp --dport 22 -j ACCEPT']);
    expect(savedRules('filter').get('INPUT')).toEqual(['-p tcp -m tcp --dport 22 -j ACCEPT']);
    expect(run('iptables-nft-save', ['-t', 'filter'])).toContain(':INPUT ACCEPT [0:0]');
    expect(run('nft', ['list', 'chain', 'ip', 'filter', 'INPUT'])).toMatch(/type filter hook input priority filter; policy accept;/);
    expect(iptNft(['-S', 'INPUT'])).toContain('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT');
  });
});

describe('where iptables-nft 1.8.9 would change the meaning', () => {
  it('`! --dport :` stays a compat udp match (matches nothing, as legacy) instead of a bare -p udp', () => {
    appendParsed(io.sock, 4, 'filter', 'INPUT', ['-p udp -m udp ! --dport 0:65535 -j DROP', '-p tcp -m tcp ! --sport 0:65535 --dport 22 -j DROP']);
    const debug = netlinkDebug('filter', 'INPUT');
    expect(debug[0]).toContain('[ match name udp rev 0 ]');
    expect(debug[1]).toContain('[ match name tcp rev 0 ]');
    // Saved as legacy saves it: the match kept, printed without the (full) range.
    expect(savedRules('filter').get('INPUT')).toEqual(['-p udp -m udp -j DROP', '-p tcp -m tcp --dport 22 -j DROP']);
  });

  it('refuses rules without a faithful form, writing nothing', () => {
    const refused = [
      ['-j QUEUE', /QUEUE/],
      ['! -s 0.0.0.0/0 -j DROP', /matches nothing/],
      ['! -p udp -m udp --dport 53 -j DROP', /! -p udp/],
      ['-m tcp --dport 1 -j DROP', /TCP match requires '-p tcp'/],
    ] as const;
    for (const [spec, message] of refused) {
      const batch = new NftBatch(4);
      const err = thrown(() => batch.appendRule('filter', 'INPUT', entryRule(parseRule(4, spec))));
      expect(err, spec).toBeInstanceOf(NftTranslateError);
      expect((err as Error).message, spec).toMatch(message);
      expect((err as NftTranslateError).errno).toBe(22);
      expect(batch.size).toBe(0);
    }
  });

  it('a 65-character NFLOG prefix from libxtables\' udata is written whole, as iptables-nft does', () => {
    const prefix = 'p'.repeat(65);
    const rule = parseRule(4, `-j NFLOG --nflog-prefix ${prefix}`);
    // The blob holds 63 characters; the shim hands over the parser's udata with all of them.
    const built = buildExtension('target', 4, 'NFLOG', undefined, rule.headerBuffer(),
      [{ name: 'nflog-prefix', values: [prefix], invert: false }], true);
    const udataPrefix = built.udata!.toString('latin1', 0, built.udata!.indexOf(0));
    expect(udataPrefix).toBe(prefix);
    const batch = new NftBatch(4);
    batch.addTable('filter');
    batch.addBuiltinChain('filter', 'INPUT');
    batch.appendRule('filter', 'INPUT', { ...entryRule(rule), nflogPrefix: udataPrefix });
    batch.commit(io.sock);
    iptNft(['-A', 'INPUT', '-j', 'NFLOG', '--nflog-prefix', prefix]);
    const saved = savedRules('filter').get('INPUT')!;
    expect(saved).toEqual([`-j NFLOG --nflog-prefix ${prefix}`, `-j NFLOG --nflog-prefix ${prefix}`]);
    const [ours, theirs] = netlinkDebug('filter', 'INPUT');
    expect(ours).toEqual(theirs);
  });
});
