// The `iptc` command on the nf_tables backend where it differs from legacy or chooses it: --backend and
// IPTC_BACKEND (this file runs with the suite's pin at legacy), the two backends side by side, `iptc
// backend`, which explains both, and the warning. Each command's behaviour on nft is test/cli.test.ts's,
// which runs on both backends. Read back with iptables-nft-save and nft in the namespace.
import { beforeEach, describe, expect, it } from 'vitest';
import { iptc } from './cli-run.js';
import { ipt, liveTables, resetKernel, run } from './kernel.js';
import { freshNftEachTest, iptNft, savedRules } from './nft-kernel.js';

freshNftEachTest();
beforeEach(() => resetKernel());

const nftSave = (args: string[] = []) =>
  run('iptables-nft-save', args).split('\n').filter((l) => !l.startsWith('#')).join('\n');
const nftRuleset = () => run('nft', ['list', 'ruleset']);

const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh" -j ACCEPT
-A INPUT -s 10.0.0.0/8 -j web
-A web -p tcp -m multiport --dports 80,443 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
`;

function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('iptc: warning:'));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('iptc --backend nft', () => {
  it('--backend nft restores into nf_tables and saves what iptables-nft-save prints, leaving legacy alone', () => {
    const before = [liveTables(4), liveTables(6)];
    const r = iptc(['restore', '--backend', 'nft'], RULES);
    expect(r.status, r.stderr).toBe(0);
    expect(savedRules('filter').get('INPUT')).toEqual(['-p tcp -m tcp --dport 22 -m comment --comment ssh -j ACCEPT', '-s 10.0.0.0/8 -j web']);
    // Every table, and one table, byte for byte as iptables-nft-save prints them (without `#` lines).
    const all = iptc(['save', '--backend', 'nft']);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toBe(nftSave());
    expect(iptc(['save', '--backend=nft', '-t', 'nat', '-c']).stdout).toBe(nftSave(['-t', 'nat', '-c']));
    // The legacy side was not touched (no table made there), and a legacy save does not see these rules.
    expect([liveTables(4), liveTables(6)]).toEqual(before);
    expect(iptc(['save', '--backend', 'legacy', '-t', 'filter']).stdout).not.toContain('--dport 22');
  });

  it('IPTC_BACKEND=nft is the default of every command; --backend overrides it', () => {
    iptNft(['-A', 'INPUT', '-p', 'udp', '--dport', '53', '-m', 'comment', '--comment', 'dns', '-j', 'ACCEPT']);
    ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP']);
    const env = { IPTC_BACKEND: 'nft' };
    expect(iptc(['save', '-t', 'filter'], undefined, env).stdout).toBe(nftSave(['-t', 'filter']));
    const legacy = iptc(['save', '-t', 'filter', '--backend', 'legacy'], undefined, env);
    expect(legacy.stdout).toContain('-A INPUT -p tcp -m tcp --dport 25 -j DROP');
    expect(legacy.stdout).not.toContain('dns');
    const counters = iptc(['counters', '--interval', '0', '--backend', 'nft']);
    expect(counters.status, counters.stderr).toBe(0);
    expect(counters.stdout).toMatch(/^filter +INPUT +1 .* dns$/m);
    expect(counters.stdout).not.toContain('--dport 25');
    // A bad value is a usage error either way; the environment's is named as such.
    const bad = iptc(['save', '--backend', 'nftables']);
    expect(bad.status).toBe(2);
    expect(oneErrorLine(bad.stderr)).toMatch(/--backend must be 'legacy', 'nft' or 'auto', got 'nftables'/);
    const badEnv = iptc(['save'], undefined, { IPTC_BACKEND: 'iptables' });
    expect(badEnv.status).toBe(1);
    expect(oneErrorLine(badEnv.stderr)).toMatch(/IPTC_BACKEND must be/);
  });

  it('restore --test --backend nft commits nothing, creates nothing; a failed --noflush restore changes nothing', () => {
    const ok = iptc(['restore', '--test', '--backend', 'nft'], RULES);
    expect(ok.status, ok.stderr).toBe(0);
    expect(nftRuleset()).toBe('');
    // --noflush on top of existing rules, then a line that fails: the table stays as it was.
    iptNft(['-A', 'INPUT', '-j', 'DROP']);
    const before = nftSave();
    const partial = iptc(['restore', '--backend', 'nft', '--noflush'], '*filter\n-A INPUT -j ACCEPT\n-A INPUT -j nosuchchain\nCOMMIT\n');
    expect(partial.status).toBe(1);
    expect(oneErrorLine(partial.stderr)).toMatch(/^iptc: line 3: /);
    expect(nftSave()).toBe(before);
  });
});

describe('iptc backend', () => {
  it('explains both backends: the tables each holds, other nftables tables, and what auto picks', () => {
    ipt(['-A', 'INPUT', '-j', 'ACCEPT']);
    iptNft(['-t', 'nat', '-A', 'POSTROUTING', '-j', 'ACCEPT']);
    iptNft(['-A', 'OUTPUT', '-j', 'ACCEPT'], 6);
    run('nft', ['add table inet fw']);
    const auto = { IPTC_BACKEND: '' };
    const json = JSON.parse(iptc(['backend', '--json'], undefined, auto).stdout) as Record<string, unknown>;
    expect(json.legacyTables).toMatchObject({ ipv4: expect.arrayContaining(['filter']) });
    expect(json.nftTables).toEqual({ ipv4: ['nat'], ipv6: ['filter'] });
    expect(json.otherNftTables).toEqual(['inet fw']);
    expect(['legacy', 'nft']).toContain(json.auto);
    expect(json.selected).toEqual({ choice: 'auto', backend: json.auto });
    const chosen = JSON.parse(iptc(['backend', '--json', '--backend', 'nft']).stdout) as Record<string, unknown>;
    expect(chosen.selected).toEqual({ choice: 'nft', backend: 'nft' });
    expect((JSON.parse(iptc(['backend', '--json'], undefined, { IPTC_BACKEND: 'legacy' }).stdout) as Record<string, unknown>).selected)
      .toEqual({ choice: 'legacy', backend: 'legacy' });

    const text = iptc(['backend'], undefined, auto);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^The system's `iptables` command is iptables-(nft|legacy)/);
    expect(text.stdout).toMatch(/^ {2}nft {5}nf_tables.*\n.*\n {10}Tables in use: IPv4 nat; IPv6 filter\.$/m);
    expect(text.stdout).toContain("Other nftables tables (not iptables'; iptc never touches them): inet fw.");
    expect(text.stdout).toMatch(new RegExp(`^\`auto\` picks ${String(json.auto)} \\(`, 'm'));
    expect(text.stdout).toContain('Both backends hold tables here.');
    // Looking created nothing on either side.
    expect(run('nft', ['list', 'tables'])).toBe('table ip nat\ntable ip6 filter\ntable inet fw\n');
  });
});

describe('the backend warning in the CLI', () => {
  it('is one line of `iptc list` when legacy tables hold rules too, and not printed by save, counters or restore', () => {
    resetKernel();
    run('iptables-legacy', ['-A', 'INPUT', '-s', '192.0.2.1', '-j', 'DROP']);
    const env = { IPTC_BACKEND: 'nft', IPTC_NO_BACKEND_WARNING: '' };
    const listed = iptc(['list'], undefined, env);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stderr.split('\n').filter((l) => l.startsWith('iptc: warning:'))).toEqual([expect.stringMatching(/Legacy iptables tables are also present \(.*filter/)]);
    for (const args of [['save'], ['counters', '--interval', '0'], ['backend']]) {
      const r = iptc(args, undefined, env);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr, args.join(' ')).not.toMatch(/warning/);
    }
    const restored = iptc(['restore', '--noflush'], '*filter\n-A INPUT -s 192.0.2.2 -j ACCEPT\nCOMMIT\n', env);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stderr).not.toMatch(/warning/);
    resetKernel();
  });
});
