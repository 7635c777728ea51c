// Text values read back exactly as written (issue 12, items 9, 10 and 15): values that begin with `--`,
// quotes, apostrophes and backslashes, and bytes that are not UTF-8, through every path: the kernel read
// back (get, parameters, toString), Rule.parse of the saved text, restore, save, and the easy
// dictionaries. iptables-legacy-save (and iptables-legacy given the same value) is the oracle.
import { execFileSync } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import * as easy from '../src/easy/index.js';
import { Rule, Table, saveAll, restoreAll } from '../src/iptc/index.js';
import { closedAfterEach, ipt, resetKernel, rules, save, tools } from './kernel.js';

const open = closedAfterEach();
function filter(): Table {
  const t = new Table('filter');
  open.push(t);
  return t;
}

beforeEach(() => {
  resetKernel();
  ipt(['-N', 'x']);
  ipt(['-N', 'y']);
});

/** The values to carry: each through a comment and a LOG prefix (at most 29 bytes). */
const VALUES = [
  '-- managed by ansible --',
  '--> dropped',
  '--foo',
  '--',
  '-',
  "it's",
  'say "hi"',
  'back\\slash',
  `mix '" \\ end\\`,
  '\\"',
  '!',
  '! not inverted',
  "'single quoted'",
  '"',
  '  spaces  ',
  'tab\there',
  'x --comment y',
  'ünïcödé ✓',
];

describe('values read back exactly as written (items 9 and 10)', () => {
  for (const value of VALUES) {
    it(`comment ${JSON.stringify(value)}`, () => {
      const t = filter();
      // iptables-legacy given the same value as one argument is the oracle for the saved text.
      ipt(['-A', 'y', '-m', 'comment', '--comment', value, '-j', 'ACCEPT']);
      const expected = rules('filter', 'y')[0]!;
      const r = new Rule();
      // A list holds its values as they are; a string's leading `!` would invert (python-iptables).
      r.createMatch('comment', { comment: [value] });
      r.target = 'ACCEPT';
      expect(r.toString()).toBe(expected);
      t.chain('x').appendRule(r);
      expect(rules('filter', 'x')).toEqual([expected]);

      const read = t.chain('x').rules[0]!;
      expect(read.toString()).toBe(expected);
      expect(read.matches[0]!.get('comment')).toBe(value);
      expect(read.matches[0]!.parameters).toEqual({ comment: value });
      expect(read.matches[0]!.getAllParameters()).toEqual({ comment: [value] });
      const parsed = Rule.parse(expected);
      expect(parsed.matches[0]!.get('comment')).toBe(value);
      expect(parsed.equals(read)).toBe(true);
      // A kernel rule changed elsewhere keeps its value (its options come from the saved text).
      read.createTarget('DROP');
      expect(read.toString()).toBe(expected.replace(/ACCEPT$/, 'DROP'));

      // restore of iptables-legacy-save's text gives the same rules.
      const text = save('filter');
      t.restore(text);
      expect(save('filter')).toBe(text);

      // The easy dictionary finds and deletes the rule it decoded (a value starting with `!` stays a list,
      // as a string would mean an inverted option).
      const d = easy.getRule('filter', 'x', 1) as easy.RuleDict;
      expect(d['comment']).toEqual({ comment: value.startsWith('!') && value !== '!' ? [value] : value });
      easy.deleteRule('filter', 'x', d);
      expect(rules('filter', 'x')).toEqual([]);
    });
  }

  for (const value of VALUES.filter((v) => Buffer.byteLength(v) <= 29)) {
    it(`LOG prefix ${JSON.stringify(value)}`, () => {
      const t = filter();
      ipt(['-A', 'y', '-j', 'LOG', '--log-prefix', value]);
      const expected = rules('filter', 'y')[0]!;
      const r = new Rule();
      r.createTarget('LOG', { logPrefix: [value] });
      t.chain('x').appendRule(r);
      expect(rules('filter', 'x')).toEqual([expected]);
      const read = t.chain('x').rules[0]!;
      expect(read.toString()).toBe(expected);
      expect(read.target!.get('log-prefix')).toBe(value);
      expect(Rule.parse(expected).target!.get('log-prefix')).toBe(value);
      expect(String(read.target)).toBe(expected);
    });
  }

  it('restore and Rule.parse split words as iptables-legacy-restore does (single quotes and bare backslashes are plain)', () => {
    const t = filter();
    const lines = [
      `-A x -m comment --comment 'x' -j ACCEPT`,
      `-A x -m comment --comment a\\b -j ACCEPT`,
      `-A x -m comment --comment "a\\qb" -j ACCEPT`,
      `-A x -m comment --comment "ab"cd -j ACCEPT`,
      `-A x -m comment --comment "" -j ACCEPT`,
    ];
    for (const line of lines) {
      const text = `*filter\n${line}\nCOMMIT\n`;
      ipt(['-F', 'x']);
      let cli: string | null = null;
      try {
        execFileSync(tools.restore(), ['--noflush'], { input: text, stdio: 'pipe' });
        cli = rules('filter', 'x').join('\n');
      } catch {
        // refused: iptc must refuse it too
      }
      ipt(['-F', 'x']);
      let ours: string | null = null;
      try {
        t.restore(text, { noflush: true });
        ours = rules('filter', 'x').join('\n');
      } catch {
        // refused
      }
      expect(ours, line).toBe(cli);
      const spec = line.replace(/^-A x /, '');
      if (cli !== null) expect(Rule.parse(spec).toString(), line).toBe(cli);
      else expect(() => Rule.parse(spec), line).toThrow();
    }
  });
});

/** A comment holding bytes that are not UTF-8, made by iptables-legacy-restore. */
function binaryComment(): { bytes: Buffer; text: string } {
  const bytes = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0x80, 0x62, 0xe2, 0x82]); // 'a', bad bytes, 'b', a cut sequence
  const line = Buffer.concat([Buffer.from('*filter\n-A x -m comment --comment "'), bytes, Buffer.from('" -j ACCEPT\nCOMMIT\n')]);
  execFileSync(tools.restore(), ['--noflush'], { input: line });
  return { bytes, text: 'a\udcff\udcc3(\udc80b\udce2\udc82' };
}

const cliSave = () =>
  execFileSync(tools.save(), ['-t', 'filter'])
    .toString('latin1')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

describe('bytes that are not UTF-8 (item 15)', () => {
  it('read back marked (U+DC80 + byte), never as U+FFFD, and written back as the same bytes', () => {
    const { text } = binaryComment();
    const before = cliSave();
    const t = filter();
    const read = t.chain('x').rules[0]!;
    expect(read.matches[0]!.get('comment')).toBe(text);
    expect(read.toString()).not.toContain('\ufffd');
    // Every path writes the same bytes back.
    t.restore(t.save());
    expect(cliSave()).toBe(before);
    t.restore(t.save({ encoding: 'buffer' }));
    expect(cliSave()).toBe(before);
    restoreAll(saveAll({ encoding: 'buffer' }));
    expect(cliSave()).toBe(before);
    t.chain('y').appendRule(Rule.parse(read.toString()));
    const r = new Rule();
    r.createMatch('comment', { comment: text });
    r.target = 'ACCEPT';
    t.chain('y').appendRule(r);
    const lines = cliSave().split('\n').filter((l) => l.includes('--comment'));
    expect(lines).toHaveLength(3);
    expect(new Set(lines.map((l) => l.replace(/^-A \w+ /, ''))).size).toBe(1);
  });

  it('save({ encoding: "buffer" }) is iptables-legacy-save byte for byte', () => {
    binaryComment();
    const t = filter();
    const ours = t.save({ encoding: 'buffer' });
    expect(Buffer.isBuffer(ours)).toBe(true);
    expect(ours.toString('latin1')).toBe(`${cliSave()}`.replace(/\n*$/, '\n'));
    expect(saveAll({ encoding: 'buffer' }).toString('latin1')).toContain(ours.toString('latin1'));
  });

  it('a lone surrogate that stands for no byte is a TypeError, not U+FFFD', () => {
    const t = filter();
    const before = save('filter');
    for (const bad of ['a\ud800b', 'a\udc41', 'x\udfff']) {
      const r = new Rule();
      expect(() => {
        r.createMatch('comment', { comment: bad });
        t.chain('x').appendRule(r);
      }).toThrow(TypeError);
    }
    expect(save('filter')).toBe(before);
  });
});
