// The `iptc` command against the real kernel: each subcommand, both families, errors as one line with
// a non-zero status, and agreement with the backend's iptables-save / ipset as the oracle. The `iptc`
// processes inherit $IPTC_BACKEND from the test run (test/setup.ts), so they use the backend under test.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, RestoreError, Rule, Table, restoreAll } from '../src/iptc/index.js';
import { BIN, iptc, iptcSpawn, readableBin, readablePackage } from './cli-run.js';
import { attempt, BACKEND, ipt, resetKernel, run, save, thrown, tools } from './kernel.js';

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
  it('saves what iptables-save prints, per table and for all tables', () => {
    ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh in', '-j', 'ACCEPT']);
    ipt(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE']);
    const one = iptc(['save', '-t', 'filter']);
    expect(one.status).toBe(0);
    expect(one.stdout).toBe(save('filter').replace(/^\n/, ''));
    const all = iptc(['save', '-c']);
    expect(all.stdout).toContain('*nat\n');
    expect(all.stdout).toContain('[0:0] -A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT');
  });

  it('saves and restores a comment that is not UTF-8 byte for byte', () => {
    spawnSync('sh', ['-c', `${tools.iptables()} -A INPUT -m comment --comment "$(printf 'caf\\351')" -j ACCEPT`]);
    const onKernel = () => spawnSync(tools.save(), ['-t', 'filter']).stdout.toString('latin1').replace(/^#.*\n/gm, '');
    const before = onKernel();
    expect(before).toContain('--comment "caf\xe9" -j ACCEPT');
    const saved = spawnSync(process.execPath, [BIN, 'save', '-t', 'filter']);
    expect(saved.status).toBe(0);
    expect(saved.stdout.toString('latin1')).toBe(before);
    ipt(['-F', 'INPUT']);
    const restored = spawnSync(process.execPath, [BIN, 'restore'], { input: saved.stdout });
    expect(restored.stderr.toString()).toBe('');
    expect(onKernel()).toBe(before);
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
    // Two readings a second apart, printed as they are taken: the packets go in after the first one,
    // however long the command takes to start.
    const child = iptcSpawn(['counters', '--watch', '--interval', '1', '--count', '2', '-x']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    while (!out.includes('probe') && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    await udp(9998, 20);
    await once(child, 'close');
    const rows = out.split('\n').filter((l) => l.endsWith('probe'));
    expect(rows, out).toHaveLength(2);
    const [table, chain, num, pkts, , rate] = rows[1]!.trim().split(/\s+/);
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
    // The backend under test lists the table the rule went to (the other's lines may show tables that
    // earlier test files left behind).
    const line = BACKEND === 'nft' ? /^  nft     nf_tables.*\n.*\n {10}Tables in use: IPv4 filter; IPv6 /m : /^  legacy  ip_tables.*\n {10}Tables in use: IPv4 [a-z, ]*filter[a-z, ]*; IPv6 /m;
    expect(r.stdout).toMatch(line);
    expect(r.stdout).toContain(`A table made without a backend option uses ${BACKEND} here (chosen by --backend or IPTC_BACKEND).`);
    const json = JSON.parse(iptc(['backend', '--json']).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ [`${BACKEND}TablesPresent`]: true, selected: { choice: BACKEND, backend: BACKEND } });
    expect((json[`${BACKEND}Tables`] as { ipv4: string[] }).ipv4).toContain('filter');
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

// Two ways to lack the rights, each a real process: a user other than root (who may not even read the
// list of tables in use), and root without CAP_NET_ADMIN and CAP_NET_RAW (who may read it, but not the
// tables). Neither may ever see "no rules" where there are rules.
const UNPRIVILEGED: [string, string[]][] = [
  ['a user other than root', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']],
  ['root without CAP_NET_ADMIN', ['--inh-caps=-all', '--bounding-set=-net_admin,-net_raw']],
];
const NOT_ROOT = UNPRIVILEGED[0]![1];

function iptcAs(setpriv: string[], args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', [...setpriv, '--', process.execPath, readableBin(), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `code` (an ES module body with `iptc` and `ipset` imported) as that process; returns what it printed. */
function libraryAs(setpriv: string[], code: string): string {
  const dist = join(readablePackage(), 'dist');
  const body = `import * as iptc from '${dist}/iptc/index.js'; import * as ipset from '${dist}/ipset/index.js';\n${code}`;
  const r = spawnSync('setpriv', [...setpriv, '--', process.execPath, '--no-warnings', '--input-type=module', '-e', body], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('without root', () => {
  it.each(UNPRIVILEGED)('as %s, reads throw IPTCError (EPERM/EACCES) naming root and CAP_NET_ADMIN, never empty chains', (_who, setpriv) => {
    ipt(['-A', 'INPUT', '-s', '192.0.2.9', '-j', 'DROP']);
    run('ipset', ['create', 'guarded', 'hash:ip']);
    const out = libraryAs(
      setpriv,
      `const report = (f) => { try { return { ok: f() }; } catch (e) { return { name: e.constructor.name, code: e.code, errno: e.errno, message: e.message }; } };
       console.log(JSON.stringify({
         chains: report(() => new iptc.Table('filter').chains.map((c) => c.name + ':' + c.rules.length)),
         saveAll: report(() => iptc.saveAll()),
         available: report(() => iptc.isTableAvailable('filter')),
         sets: report(() => new ipset.IPSet().list().map((s) => s.name)),
       }));`,
    );
    const got = JSON.parse(out) as Record<string, { name?: string; errno?: number; message?: string; ok?: unknown }>;
    // Root may read the list of tables in use, so it can tell that filter is there; no one else can.
    for (const what of setpriv === NOT_ROOT ? ['chains', 'saveAll', 'available'] : ['chains', 'saveAll']) {
      expect(got[what], what).toMatchObject({ name: 'IPTCError' });
      expect([1, 13], what).toContain(got[what]!.errno);
      expect(got[what]!.message, what).toMatch(/root/);
      expect(got[what]!.message, what).toMatch(/CAP_NET_ADMIN/);
    }
    expect(got.sets).toMatchObject({ name: 'IPSetError', errno: 1 });
    expect(got.sets!.message).toMatch(/CAP_NET_ADMIN/);
  });

  it.each(UNPRIVILEGED)('as %s, save, list and counters exit 1 with one line saying what is needed', (_who, setpriv) => {
    ipt(['-A', 'INPUT', '-s', '192.0.2.9', '-j', 'DROP']);
    for (const args of [['save'], ['save', '-t', 'filter'], ['list'], ['counters', '--interval', '0'], ['ipset', 'list']]) {
      const r = iptcAs(setpriv, args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(oneErrorLine(r.stderr), args.join(' ')).toMatch(/CAP_NET_ADMIN/);
    }
    // The same commands as root read the rule.
    expect(iptc(['save']).stdout).toContain('-A INPUT -s 192.0.2.9/32 -j DROP');
  });
});

describe('restore framing', () => {
  // What iptables-restore accepts outside `*table` ... `COMMIT`: empty lines and lines that start
  // with `#`. Everything else fails with the line's number, before any table is touched.
  const texts: [string, number | null][] = [
    ['# saved\n\n*filter\n-A INPUT -s 192.0.2.1 -j ACCEPT\nCOMMIT\n# done\n\n', null],
    ['-P INPUT ACCEPT\n-A INPUT -s 192.0.2.1 -j ACCEPT\n', 1],
    ['*filter\n-A INPUT -s 192.0.2.1 -j ACCEPT\nCOMMIT\ngarbage\n', 4],
    ['*filter\n-A INPUT -s 192.0.2.1 -j ACCEPT\nCOMMIT\n-A INPUT -s 192.0.2.2 -j ACCEPT\n', 4],
    ['*filter\nCOMMIT\n   \n', 3],
    ['  # indented\n*filter\nCOMMIT\n', 1],
    ['COMMIT\n', 1],
    [':INPUT ACCEPT [0:0]\n*filter\nCOMMIT\n', 1],
  ];

  it('refuses lines outside a table as iptables-restore does, naming the line, with nothing applied', () => {
    for (const [text, line] of texts) {
      resetKernel();
      const oracle = attempt('sh', ['-c', `printf '%s' "$1" | ${tools.restore()} --test`, 'sh', text]);
      expect(oracle.status !== 0, `${tools.restore()} on ${JSON.stringify(text)}`).toBe(line !== null);
      const before = save('filter');
      const r = iptc(['restore'], text);
      if (line === null) {
        expect(r.status, r.stderr).toBe(0);
        expect(save('filter')).toContain('-A INPUT -s 192.0.2.1/32 -j ACCEPT');
        continue;
      }
      expect(r.status, JSON.stringify(text)).toBe(1);
      expect(oneErrorLine(r.stderr)).toMatch(new RegExp(`^iptc: line ${line}: not in a table`));
      expect(save('filter')).toBe(before);
      // Table.restore takes a table's lines without the framing too; framed text is checked the same.
      const framed = /^\s*\*/m.test(text);
      for (const restoreText of [() => restoreAll(text), ...(framed ? [() => new Table('filter').restore(text)] : [])]) {
        const err = thrown(restoreText);
        expect(err).toBeInstanceOf(RestoreError);
        expect((err as RestoreError).line).toBe(line);
      }
      expect(save('filter')).toBe(before);
    }
  });
});

describe('kernel refusals', () => {
  it('name the table, the rule (or the COMMIT line) and give iptables\' hint, with the errno', () => {
    const bad = '-p udp -m udp --dport 53 -j REJECT --reject-with tcp-reset';
    const before = save('filter');
    // iptables' own words for it. The nft backend names the errno in its words too, and a restore's
    // refused rule (the kernel refuses one operation of the transaction, not the whole table).
    const nft = BACKEND === 'nft';
    const invalid = nft ? 'Invalid argument (EINVAL, errno 22)' : 'Invalid argument';
    expect(attempt(tools.iptables(), ['-A', 'INPUT', ...bad.split(' ')]).stderr).toMatch(
      nft ? /RULE_APPEND failed \(Invalid argument\): rule in chain INPUT/ : /Invalid argument. Run `dmesg' for more information/,
    );
    const table = new Table('filter');
    try {
      const e = thrown(() => table.chain('INPUT').appendRule(Rule.parse(bad))) as IPTCError;
      expect(e).toBeInstanceOf(IPTCError);
      expect(e.errno).toBe(22);
      expect(e.message).toBe(
        `the kernel refused \`-A INPUT ${bad}' in table \`filter': ${invalid}; a match or target the kernel does not ` +
          'accept here (in this table or chain, or with these options); run `dmesg\' for more information',
      );
      const inserted = thrown(() => table.chain('INPUT').insertRule(Rule.parse(bad), 0)) as IPTCError;
      expect(inserted.message).toMatch(/^the kernel refused `-I INPUT 1 -p udp .*' in table `filter': Invalid argument[^;]*; .*dmesg/);
    } finally {
      table.close();
    }
    expect(save('filter')).toBe(before);

    const text = `*filter\n-A INPUT -s 192.0.2.1 -j ACCEPT\n-A INPUT ${bad}\nCOMMIT\n`;
    expect(attempt('sh', ['-c', `printf '%s' "$1" | ${tools.restore()}`, 'sh', text]).stderr).toMatch(nft ? /line 3: RULE_APPEND failed/ : /line 4 failed/);
    const refused = nft ? `\`-A INPUT ${bad}' in table \`filter': ${invalid}` : `table \`filter': ${invalid}`;
    const e = thrown(() => restoreAll(text)) as RestoreError;
    expect(e).toBeInstanceOf(RestoreError);
    expect([e.line, e.errno]).toEqual([4, 22]);
    expect(e.message.startsWith(`line 4: the kernel refused ${refused}; `), e.message).toBe(true);
    expect(e.message).toMatch(/dmesg/);
    const r = iptc(['restore'], text);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r.stderr).startsWith(`iptc: line 4: the kernel refused ${refused}; `), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/run `dmesg' for more information/);
    expect(save('filter')).toBe(before);
  });

  it('say why a chain cannot be deleted', () => {
    ipt(['-N', 'used']);
    ipt(['-A', 'INPUT', '-j', 'used']);
    const table = new Table('filter');
    try {
      const e = thrown(() => table.deleteChain('used')) as IPTCError;
      expect(e.errno).toBe(31);
      expect(e.message).toBe("cannot delete chain `used' in table `filter': Too many links (rules still jump to it)");
    } finally {
      table.close();
    }
  });
});

describe('counters and restore --test: the smaller holes', () => {
  it('counters with a chain that does not exist fails naming it', () => {
    ipt(['-A', 'INPUT', '-j', 'ACCEPT']);
    // Two tables in use, whatever earlier files left behind (legacy tables stay in use once made).
    ipt(['-t', 'nat', '-A', 'OUTPUT', '-j', 'ACCEPT']);
    const r = iptc(['counters', '--interval', '0', 'NOPE']);
    expect(r.status).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/no chain `NOPE' in any IPv4 table in use/);
    const t = iptc(['counters', '--interval', '0', '-t', 'filter', 'NOPE']);
    expect(t.status).toBe(1);
    expect(oneErrorLine(t.stderr)).toMatch(/no chain `NOPE' in table `filter'/);
    expect(iptc(['counters', '--interval', '0', 'INPUT']).status).toBe(0);
  });

  it('refuses durations a timer cannot wait and any other bad number', () => {
    // 2^31 ms and more would fire after 1 ms.
    for (const value of ['2147484', '1e9', '99999999999', '-1', 'NaN', 'Infinity', '0x10', '', '1s', '0.01']) {
      const r = iptc(['counters', '--watch', '--count', '1', '--interval', value]);
      expect(r.status, value).toBe(2);
      expect(oneErrorLine(r.stderr), value).toMatch(/--interval needs a number of seconds from 0.05 to 2147483.647/);
    }
    for (const value of ['1.5', '0', '-2', '1e3']) {
      const r = iptc(['counters', '--watch', '--count', value]);
      expect(r.status, value).toBe(2);
      expect(oneErrorLine(r.stderr), value).toMatch(/--count needs a whole number of at least 1/);
    }
    expect(iptc(['counters', '--watch', '--count', '1', '--interval', '2147483.647']).status).toBe(0);
  });

  // Run in a namespace of its own: the tables of this test run's namespace stay in use once created.
  const fresh = (script: string, input: string) => spawnSync('unshare', ['-n', '--', 'sh', '-c', script, 'sh', process.execPath, BIN], { encoding: 'utf8', input });
  // The tables in use on the backend under test, and a command that puts one in use (on nft a table that
  // exists; `iptables-nft -S` reads without creating it).
  const listTables = BACKEND === 'nft' ? 'nft list tables' : 'cat /proc/net/ip_tables_names';
  const putInUse = (table: string) =>
    BACKEND === 'nft' ? `iptables-nft -t ${table} -N iptc-probe && iptables-nft -t ${table} -X iptc-probe` : `iptables-legacy -t ${table} -S >/dev/null`;

  it('restore --test creates no table, and finds the errors a table in use would show', () => {
    const good = '*raw\n-A PREROUTING -p udp -j NOTRACK\nCOMMIT\n*nat\n:svc - [0:0]\n-A PREROUTING -j svc\n-A svc -p tcp -j DNAT --to-destination 192.0.2.1\nCOMMIT\n*mangle\n-A PREROUTING -j MARK --set-mark 1\nCOMMIT\n*security\nCOMMIT\n';
    const r = fresh(`"$1" "$2" restore --test; echo "status $?"; ${listTables}`, good);
    expect(r.stdout).toBe('status 0\n');
    // What a real restore would refuse, each at its line: checked without the kernel for a table not in
    // use, against a copy of the kernel's for one in use, with the same words.
    const bad = [
      '*raw\n-A INPUT -p tcp -j NOTRACK\nCOMMIT\n',
      '*nat\n:x - [0:0]\n-A PREROUTING -j x\n-X x\nCOMMIT\n',
      '*nat\n-A PREROUTING -j nowhere\nCOMMIT\n',
      '*nat\n:x - [0:0]\n-A x -j ACCEPT\n-D x -j ACCEPT\n-D x -j ACCEPT\nCOMMIT\n',
      '*nat\n:x - [0:0]\n-A PREROUTING -j x\n-E x y\n-D PREROUTING -j y\n-X y\n-I PREROUTING 2 -j ACCEPT\nCOMMIT\n',
      '*nat\n-P x ACCEPT\nCOMMIT\n',
      '*mangle\n-A PREROUTING -j MARK --set-mark 1\n-R PREROUTING 2 -j MARK --set-mark 2\nCOMMIT\n',
      '*mangle\n-A PREROUTING -j MARK --set-mark 1\n-D PREROUTING 1\n-D PREROUTING 1\nCOMMIT\n',
      '*mangle\n-N a\n-N a\nCOMMIT\n',
      '*mangle\n-N a\n-A a -j ACCEPT\n-X a\nCOMMIT\n',
      '*mangle\n-N a\n-E a PREROUTING\nCOMMIT\n',
      '*mangle\n-E PREROUTING b\nCOMMIT\n',
      '*mangle\n-X PREROUTING\nCOMMIT\n',
      '*mangle\n-F nochain\nCOMMIT\n',
      '*mangle\n-A PREROUTING -s 192.0.2.4 -p tcp --dport 80 -j ACCEPT\n-D PREROUTING -s 192.0.2.4 -p tcp --dport 81 -j ACCEPT\nCOMMIT\n',
      '*security\n-A INPUT -j ACCEPT\n-I INPUT 3 -j DROP\nCOMMIT\n',
      '*raw\n:FORWARD ACCEPT [0:0]\nCOMMIT\n',
    ];
    for (const text of bad) {
      const table = text.slice(1, text.indexOf('\n'));
      const scratch = fresh(`"$1" "$2" restore --test 2>&1 >/dev/null | grep -v warning; echo "status $?"; ${listTables}`, text);
      const kernel = fresh(`${putInUse(table)}; "$1" "$2" restore --test 2>&1 >/dev/null | grep -v warning`, text);
      const [line, ...rest] = scratch.stdout.split('\n');
      expect(line, text).toMatch(/^iptc: line \d+: /);
      expect(rest.join('\n'), text).toBe('status 0\n'); // no table in use afterwards
      expect(kernel.stdout, text).toBe(`${line}\n`);
    }
    // A deletion that finds its rule passes in both.
    const ok = '*mangle\n-A PREROUTING -s 192.0.2.4 -p tcp --dport 80 -j ACCEPT\n-D PREROUTING -s 192.0.2.4/32 -p tcp -m tcp --dport 80 -j ACCEPT\n-N a\n-A PREROUTING -j a\n-E a b\n-D PREROUTING -j b\n-X b\nCOMMIT\n';
    expect(fresh(`"$1" "$2" restore --test; echo "status $?"; ${listTables}`, ok).stdout).toBe('status 0\n');
  });
});
