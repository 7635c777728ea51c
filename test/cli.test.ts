// The `iptc` command against the real kernel: each subcommand, both families, errors as one line with
// a non-zero status, and agreement with iptables-legacy-save / ipset as the oracle.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { beforeEach, describe, expect, it } from 'vitest';
import { BIN, iptc, iptcSpawn } from './cli-run.js';
import { ipt, resetKernel, run, save } from './kernel.js';

async function udp(port: number, count: number, host = '127.0.0.1'): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (let i = 0; i < count; i++) await new Promise<void>((r) => s.send('x'.repeat(10), port, host, () => r()));
  s.close();
}

function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('iptc: warning:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^iptc: /);
  return lines[0]!;
}

beforeEach(() => resetKernel());

describe('iptc save / restore', () => {
  it('saves what iptables-legacy-save prints, per table and for all tables', () => {
    ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh in', '-j', 'ACCEPT']);
    ipt(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE']);
    const one = iptc(['save', '-t', 'filter']);
    expect(one.status).toBe(0);
    expect(one.stdout).toBe(save('filter').replace(/^\n/, ''));
    const all = iptc(['save', '-c']);
    expect(all.stdout).toContain('*nat\n');
    expect(all.stdout).toContain('[0:0] -A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT');
  });

  it('restores each table atomically with progress, and round-trips IPv6', () => {
    const text = [
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':web - [0:0]',
      '-A INPUT -p tcp -m tcp --dport 80 -j web',
      '-A web -s 10.0.0.0/8 -j ACCEPT',
      'COMMIT',
      '*mangle',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff',
      'COMMIT',
      '',
    ].join('\n');
    const r = iptc(['restore', '--progress'], text);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[1\/2\] restoring filter: 2 rules .*done/s);
    expect(r.stderr).toMatch(/\[2\/2\] restoring mangle: 1 rules .*done/s);
    expect(save('filter')).toContain('-A web -s 10.0.0.0/8 -j ACCEPT');
    expect(save('filter')).toContain(':INPUT DROP');
    expect(save('mangle')).toContain('-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff');

    const v6 = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::/32 -j DROP\nCOMMIT\n';
    expect(iptc(['restore', '-6'], v6).status).toBe(0);
    expect(iptc(['save', '-6', '-t', 'filter']).stdout).toBe(v6);
    expect(save('filter', { family: 6 })).toContain('-A INPUT -s 2001:db8::/32 -j DROP');
  });

  it('--test checks without committing; a bad line is one error line naming it, and nothing changes', () => {
    ipt(['-A', 'INPUT', '-j', 'ACCEPT']);
    const before = save('filter');
    const bad = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n';
    for (const args of [['restore'], ['restore', '--test']]) {
      const r = iptc(args, bad);
      expect(r.status).toBe(1);
      expect(oneErrorLine(r.stderr)).toMatch(/line 3: .*99999/);
      expect(save('filter')).toBe(before);
    }
    const good = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -j DROP\nCOMMIT\n';
    expect(iptc(['restore', '--test'], good).status).toBe(0);
    expect(save('filter')).toBe(before);
    expect(iptc(['restore', '-n'], good).status).toBe(0);
    expect(save('filter')).toContain('-A INPUT -j ACCEPT\n-A INPUT -p udp -j DROP');
  });

  it('-t restores only that table of the input', () => {
    const text = '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n-A OUTPUT -p tcp -j ACCEPT\nCOMMIT\n';
    expect(iptc(['restore', '-t', 'nat'], text).status).toBe(0);
    expect(save('nat')).toContain('-A OUTPUT -p tcp -j ACCEPT');
    expect(save('filter')).not.toContain('-A INPUT -j ACCEPT');
  });
});

describe('iptc list / counters', () => {
  it('lists rules with counters, comments and targets; --json is exact', async () => {
    ipt(['-N', 'web']);
    ipt(['-A', 'INPUT', '-p', 'udp', '--dport', '9999', '-m', 'comment', '--comment', 'udp 9999', '-j', 'web']);
    ipt(['-A', 'web', '-j', 'DROP']);
    await udp(9999, 3);
    const r = iptc(['list']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Chain INPUT \(policy ACCEPT \d+ packets, \d+ bytes\)$/m);
    expect(r.stdout).toMatch(/^ {2}1 +3 +114 +web +udp 9999 +-p udp -m udp --dport 9999 -m comment --comment "udp 9999" -j web$/m);
    expect(r.stdout).toMatch(/^Chain web \(1 rules\)$/m);
    const json = JSON.parse(iptc(['list', '--json']).stdout) as { table: string; chains: { name: string; rules: { packets: number; comment: string; position: number }[] }[] }[];
    const input = json.find((t) => t.table === 'filter')!.chains.find((c) => c.name === 'INPUT')!;
    expect(input.rules[0]).toMatchObject({ position: 1, packets: 3, bytes: 114, comment: 'udp 9999', target: 'web' });
    expect(iptc(['list', 'web']).stdout).not.toContain('Chain INPUT');
    expect(iptc(['list', '-6']).stdout).toContain('# IPv6 table filter');
  });

  it('counters shows rates between two readings', async () => {
    ipt(['-A', 'INPUT', '-p', 'udp', '--dport', '9998', '-m', 'comment', '--comment', 'probe', '-j', 'DROP']);
    const child = iptcSpawn(['counters', '--interval', '1', '-x']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => setTimeout(r, 300));
    await udp(9998, 20);
    await once(child, 'close');
    const row = out.split('\n').find((l) => l.endsWith('probe'))!;
    expect(row).toBeDefined();
    const [table, chain, num, pkts, , rate] = row.trim().split(/\s+/);
    expect([table, chain, num, pkts]).toEqual(['filter', 'INPUT', '1', '20']);
    expect(rate).toMatch(/^\d+(\.\d)?\/s$/);
    expect(Number(rate!.replace('/s', ''))).toBeGreaterThan(5);
  });

  it('counters --watch refreshes in place on a terminal and prints frames in a log', async () => {
    ipt(['-A', 'INPUT', '-m', 'comment', '--comment', 'everything', '-j', 'ACCEPT']);
    const r = iptc(['counters', '--watch', '--interval', '0.1', '--count', '3']);
    expect(r.status).toBe(0);
    expect(r.stdout.match(/\(Ctrl-C to stop\)/g)).toHaveLength(3);
    expect(r.stdout.match(/ everything$/gm)).toHaveLength(3);
    // The in-place redraw (cursor up, clear) is used only on a terminal: check it under `script`.
    const tty = run('script', ['-qec', `${process.execPath} ${BIN} counters --watch -i 0.1 -n 2`, '/dev/null']);
    expect(tty).toContain('\x1b[J');
    expect(tty).toMatch(/\x1b\[\d+F/);
  });
});

describe('iptc backend', () => {
  it('describes the backend in words and as JSON', () => {
    ipt(['-A', 'INPUT', '-j', 'ACCEPT']);
    const r = iptc(['backend']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/The system's `iptables` command is iptables-(legacy|nft)|No `iptables` command/);
    expect(r.stdout).toMatch(/^Legacy tables in use in this network namespace: IPv4 (filter|[a-z, ]*filter[a-z, ]*); IPv6 /m);
    const json = JSON.parse(iptc(['backend', '--json']).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ legacyTablesPresent: true });
    expect((json.legacyTables as { ipv4: string[] }).ipv4).toContain('filter');
    expect(['legacy', 'nft', 'unknown']).toContain(json.iptables);
  });
});

describe('iptc ipset', () => {
  it('lists, saves and restores sets as the ipset tool does', () => {
    run('ipset', ['create', 'bl', 'hash:ip', 'counters', 'comment']);
    run('ipset', ['add', 'bl', '192.0.2.1', 'comment', 'bad host']);
    run('ipset', ['create', 'ports', 'bitmap:port', 'range', '1000-2000']);
    const l = iptc(['ipset', 'list', 'bl']);
    expect(l.status).toBe(0);
    expect(l.stdout).toContain('Name: bl\nType: hash:ip\n');
    expect(l.stdout).toContain('Number of entries: 1\nMembers:\n192.0.2.1 packets 0 bytes 0 comment "bad host"\n');
    expect(iptc(['ipset', 'list', '-n']).stdout).toBe('bl\nports\n');
    const json = JSON.parse(iptc(['ipset', 'list', '--json', 'bl']).stdout) as { entries: { entry: string; packets: number }[] }[];
    expect(json[0]!.entries[0]).toMatchObject({ entry: '192.0.2.1', packets: 0, comment: 'bad host' });

    const saved = iptc(['ipset', 'save']).stdout;
    expect(saved).toBe(run('ipset', ['save']));
    run('ipset', ['destroy']);
    const r = iptc(['ipset', 'restore', '--progress'], saved);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ipset restore: 5 lines|ipset restore: \d+ lines/);
    expect(run('ipset', ['save'])).toBe(saved);
    const again = iptc(['ipset', 'restore'], saved);
    expect(again.status).toBe(1);
    oneErrorLine(again.stderr);
    expect(iptc(['ipset', 'restore', '-exist'], saved).status).toBe(0);
  });

  it('a missing set is one error line', () => {
    const r = iptc(['ipset', 'list', 'nosuch']);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/does not exist/);
  });
});

describe('errors and help', () => {
  it('usage errors exit 2 with one line; failures exit 1 with one line', () => {
    for (const args of [['frob'], ['list', '--frob'], ['ipset'], ['save', '-t'], ['counters', '--interval', 'soon'], ['export', '--listen', 'nowhere']]) {
      const r = iptc(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(oneErrorLine(r.stderr)).toMatch(/\(see iptc --help\)$/);
    }
    for (const args of [['list', '-t', 'nosuchtable'], ['list', 'NOCHAIN'], ['restore', '/nonexistent/file']]) {
      const r = iptc(args);
      expect(r.status, args.join(' ')).toBe(1);
      oneErrorLine(r.stderr);
    }
  });

  it('prints help for every command', () => {
    const main = iptc(['--help']);
    expect(main.status).toBe(0);
    for (const c of ['save', 'restore', 'list', 'counters', 'backend', 'export', 'ipset list', 'ipset save', 'ipset restore']) {
      expect(main.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
      const h = iptc([...c.split(' '), '--help']);
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^usage: iptc ${c}`));
    }
    expect(iptc(['--version']).stdout).toMatch(/^iptc \d+\.\d+\.\d+/);
  });
});
