// Listings and saves of large sets, streamed: IPSet.listEach and IPSet.saveTo hand the dump on a page at
// a time, and `iptc ipset list|save` print it so, with the same text as the whole listing would give and
// a peak memory that does not grow with the set. Read back with the ipset tool.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPSet, type IPSetEntry, type IPSetInfo } from '../src/ipset/index.js';
import { toJson } from '../src/cli/format.js';
import { BIN } from './cli-run.js';
import { resetKernel, run } from './kernel.js';

const MANY = 30_000;
const LARGE = 200_000;
const MAIN = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

function restoreText(name: string, count: number, create: string): string {
  const lines = [`create ${name} ${create}`];
  for (let i = 0; i < count; i++) {
    const comment = i % 1000 === 0 ? ` comment "entry ${i}"` : '';
    lines.push(`add ${name} 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}${comment}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Output too large for the helpers' 1 MiB buffers. */
const BIG = { encoding: 'utf8' as const, maxBuffer: 1 << 30 };

function ipsetTool(args: string[]): string {
  const r = spawnSync('ipset', args, BIG);
  if (r.status !== 0) throw new Error(`ipset ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function iptc(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], BIG);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `iptc ARGS` run in this process's code (dist), with its peak RSS in KiB. */
function peakRss(args: string[]): { status: number; kib: number; stderr: string } {
  const code =
    `const { main } = await import(${JSON.stringify(MAIN)}); const s = await main(process.argv.slice(1));` +
    'process.stderr.write(`\\nRSS ${process.resourceUsage().maxRSS}\\n`); process.exitCode = s;';
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const m = /RSS (\d+)/.exec(r.stderr);
  return { status: r.status ?? -1, kib: m ? Number(m[1]) : NaN, stderr: r.stderr };
}

/** The `ipset list` layout of `iptc ipset list`, from a whole listing. */
function listText(sets: IPSetInfo[]): string {
  const entry = (e: IPSetEntry) =>
    `${e.entry}${e.timeout !== undefined ? ` timeout ${e.timeout}` : ''}` +
    `${e.packets !== undefined ? ` packets ${e.packets} bytes ${e.bytes ?? 0n}` : ''}` +
    `${e.comment !== undefined ? ` comment "${e.comment}"` : ''}${e.nomatch ? ' nomatch' : ''}\n`;
  return sets
    .map((s) => {
      const h = s.header;
      const header = [
        h.family && `family ${h.family}`, h.range && `range ${h.range}`, h.hashsize !== undefined && `hashsize ${h.hashsize}`,
        h.maxelem !== undefined && `maxelem ${h.maxelem}`, h.netmask !== undefined && `netmask ${h.netmask}`,
        h.size !== undefined && `size ${h.size}`, h.timeout !== undefined && `timeout ${h.timeout}`, h.counters && 'counters',
        h.comment && 'comment', h.skbinfo && 'skbinfo', h.forceadd && 'forceadd',
      ].filter(Boolean).join(' ');
      return (
        `Name: ${s.name}\nType: ${s.type}\nRevision: ${s.revision}\nHeader: ${header}\nSize in memory: ${h.memsize ?? 0}\n` +
        `References: ${h.references ?? 0}\nNumber of entries: ${s.entries.length}\nMembers:\n${s.entries.map(entry).join('')}`
      );
    })
    .join('\n');
}

beforeAll(() => {
  resetKernel();
  run('ipset', ['restore'], restoreText('many', MANY, 'hash:ip counters comment maxelem 1000000'));
  run('ipset', ['create', 'empty', 'hash:net']);
  run('ipset', ['restore'], 'create ports bitmap:port range 1000-2000\nadd ports 1001\nadd ports 1999\n');
});

afterAll(() => resetKernel());

describe('IPSet.listEach and IPSet.saveTo', () => {
  it('hand on what list() and save() give, a page at a time', () => {
    const ipset = new IPSet();
    try {
      const whole = ipset.list();
      const sets: IPSetInfo[] = [];
      let pages = 0;
      ipset.listEach(undefined, {
        set: (info) => {
          expect(info.entries).toEqual([]);
          sets.push({ ...info, entries: [] });
        },
        entries: (info, entries) => {
          pages++;
          expect(sets[sets.length - 1]!.name).toBe(info.name);
          sets[sets.length - 1]!.entries.push(...entries);
        },
      });
      expect(sets).toEqual(whole);
      expect(pages).toBeGreaterThan(2);

      const pieces: string[] = [];
      ipset.saveTo((text) => pieces.push(text));
      expect(pieces.length).toBeGreaterThan(4);
      expect(pieces.join('')).toBe(ipset.save());
      expect(ipset.save()).toBe(ipsetTool(['save']));
      const one: string[] = [];
      ipset.saveTo((text) => one.push(text), 'ports');
      expect(one.join('')).toBe(ipsetTool(['save', 'ports']));
    } finally {
      ipset.close();
    }
  });
});

describe('iptc ipset list and save, streamed', () => {
  it('print the text of the whole listing', () => {
    const ipset = new IPSet();
    const whole = ipset.list();
    const many = ipset.list('many');
    ipset.close();
    const json = iptc(['ipset', 'list', '--json']);
    expect(json.status, json.stderr).toBe(0);
    expect(json.stdout).toBe(`${toJson(whole)}\n`);
    expect(iptc(['ipset', 'list', '--json', 'many']).stdout).toBe(`${toJson(many)}\n`);
    expect(iptc(['ipset', 'list', '--json', 'empty']).stdout).toBe(`${toJson(whole.filter((s) => s.name === 'empty'))}\n`);
    expect(iptc(['ipset', 'list']).stdout).toBe(listText(whole));
    expect(iptc(['ipset', 'save']).stdout).toBe(ipsetTool(['save']));
  });

  it('stop quietly when the reader goes away', () => {
    for (const sub of ['save', 'list']) {
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" ipset ${sub} many | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
        encoding: 'utf8',
      });
      expect(r.stdout.trim(), r.stderr).toBe('0');
      expect(r.stderr).toBe('');
    }
  });

  it(`hold a ${LARGE.toLocaleString('en-US')}-entry set a page at a time: peak memory as for an empty set`, () => {
    run('ipset', ['restore'], restoreText('large', LARGE, 'hash:ip comment maxelem 1000000'));
    const base = peakRss(['ipset', 'list', '--json', 'empty']);
    expect(base.status, base.stderr).toBe(0);
    // Held whole, the listing took 120 MiB more (save) and 330 MiB more (--json); text listing failed.
    for (const args of [['ipset', 'list', '--json', 'large'], ['ipset', 'list', 'large'], ['ipset', 'save', 'large']]) {
      const r = peakRss(args);
      expect(r.status, r.stderr).toBe(0);
      expect(r.kib - base.kib, args.join(' ')).toBeLessThan(64 * 1024);
    }
    const lines = iptc(['ipset', 'list', 'large']).stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('10.')).length).toBe(LARGE);
    expect(lines).toContain(`Number of entries: ${LARGE}`);
  });
});
