// TableScanner and readTable read a table from the kernel's own blob, without libiptc: they must see
// every chain, policy, rule, target and counter exactly as libiptc does, over the whole conformance
// corpus (every extension iptables tests), and the scanner's digests must change exactly when the rules do.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IPTCError } from '../src/xtables/errors.js';
import { entryLayout } from '../src/xtables/entry.js';
import { TableHandle, type RawChain } from '../src/xtables/libiptc.js';
import { readTable } from '../src/xtables/kernel-blob.js';
import { TableScanner, type ScannedChain } from '../src/xtables/table-scan.js';
import { ipt, liveTables, resetKernel, run, type Family } from './kernel.js';

const BASELINE = join(import.meta.dirname, 'fixtures', 'conformance', 'baseline-legacy-1.8.9.tsv');
const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);

/** Every rule of the corpus the kernel took, by family and table: what iptables-legacy-save printed. */
function corpus(): Map<string, string[]> {
  const [header, ...rows] = readFileSync(BASELINE, 'utf8').split('\n').filter(Boolean);
  const cols = header!.split('\t');
  const byTable = new Map<string, Set<string>>();
  for (const row of rows) {
    const f = row.split('\t').map(unescape);
    const result = f[cols.indexOf('actual_result')]!;
    if (result !== 'OK' && result !== 'NOMATCH') continue;
    const saved = f[cols.indexOf(result === 'NOMATCH' ? 'actual_saved_text_if_differs' : 'expected_saved')]!;
    const key = `${f[cols.indexOf('family')] === 'ipv6' ? 6 : 4} ${f[cols.indexOf('table')]}`;
    if (!byTable.has(key)) byTable.set(key, new Set());
    byTable.get(key)!.add(`-A ${f[cols.indexOf('chain')]} ${saved}`);
  }
  return new Map([...byTable].map(([k, v]) => [k, [...v]]));
}

/** Restores `lines` into a table, a hundred at a time; a hundred the kernel refuses together go one by one. */
function load(family: Family, table: string, lines: string[]): number {
  const restore = (batch: string[]): number => {
    try {
      run(family === 6 ? 'ip6tables-legacy-restore' : 'iptables-legacy-restore', ['--noflush'], `*${table}\n${batch.join('\n')}\nCOMMIT\n`);
      return batch.length;
    } catch {
      // Rules that need something else first (rateest needs its estimators): only alone can they fail.
      return batch.length === 1 ? 0 : batch.reduce((n, line) => n + restore([line]), 0);
    }
  };
  let loaded = 0;
  for (let i = 0; i < lines.length; i += 100) loaded += restore(lines.slice(i, i + 100));
  return loaded;
}

function libiptc(family: Family, table: string): RawChain[] {
  const h = TableHandle.open(family, table);
  try {
    return h.read();
  } finally {
    h.free();
  }
}

/** A libiptc entry as the scanner gives it: counters, comefrom and a jump's offset zeroed. */
function normalized(family: Family, entry: Buffer, label: string, standard: boolean): Buffer {
  const l = entryLayout(family);
  const e = Buffer.from(entry);
  e.fill(0, l.counters, l.counters + 16);
  e.fill(0, l.nextOffset + 2, l.nextOffset + 6);
  if (standard && !['ACCEPT', 'DROP', 'QUEUE', 'RETURN'].includes(label)) e.writeInt32LE(0, e.readUInt16LE(l.targetOffset) + 32);
  return e;
}

function expectSame(family: Family, table: string, scanned: ScannedChain[], ref: RawChain[]): number {
  expect(scanned.map((c) => c.name), `${family} ${table}`).toEqual(ref.map((c) => c.name));
  const l = entryLayout(family);
  let rules = 0;
  ref.forEach((chain, ci) => {
    const got = scanned[ci]!;
    const where = `${family} ${table} ${chain.name}`;
    expect({ builtin: got.builtin, policy: got.policy, count: got.count }, where).toEqual({ builtin: chain.builtin, policy: chain.policy, count: chain.rules.length });
    chain.rules.forEach((raw, i) => {
      const rule = got.rule(i);
      expect({ label: rule.label, standard: rule.standard }, `${where} rule ${i + 1}`).toEqual({ label: raw.label, standard: raw.standard });
      expect(rule.entry.equals(normalized(family, raw.entry, raw.label, raw.standard)), `${where} rule ${i + 1}`).toBe(true);
      const packets = BigInt(got.counters[i * 4]!) | (BigInt(got.counters[i * 4 + 1]!) << 32n);
      const bytes = BigInt(got.counters[i * 4 + 2]!) | (BigInt(got.counters[i * 4 + 3]!) << 32n);
      expect([packets, bytes]).toEqual([raw.entry.readBigUInt64LE(l.counters), raw.entry.readBigUInt64LE(l.counters + 8)]);
      rules++;
    });
  });
  return rules;
}

/** readTable's chains are libiptc's, byte for byte, and print the same. */
function expectSameTable(family: Family, table: string, read: RawChain[], ref: RawChain[]): number {
  const where = `${family} ${table}`;
  const chainOf = (c: RawChain) => ({ name: c.name, builtin: c.builtin, policy: c.policy, count: c.rules.length });
  expect(read.map(chainOf), where).toEqual(ref.map(chainOf));
  let rules = 0;
  ref.forEach((chain, ci) => {
    chain.rules.forEach((raw, i) => {
      const got = read[ci]!.rules[i]!;
      const rule = `${where} ${chain.name} rule ${i + 1}`;
      expect({ label: got.label, standard: got.standard, checked: got.checked }, rule).toEqual({ label: raw.label, standard: raw.standard, checked: raw.checked });
      expect(got.entry.equals(raw.entry), rule).toBe(true);
      expect(got.printed!.line(got.index!), rule).toBe(raw.printed!.line(raw.index!));
      rules++;
    });
  });
  return rules;
}

describe('TableScanner', () => {
  beforeAll(() => resetKernel());

  it('reads every chain, policy, rule, target and counter as libiptc does, over the whole conformance corpus (readTable too)', () => {
    let loaded = 0;
    for (const [key, lines] of corpus()) {
      const [family, table] = key.split(' ') as [string, string];
      loaded += load(Number(family) as Family, table, lines);
    }
    expect(loaded).toBeGreaterThan(3000);
    // Chains of every kind: user chains (one empty), jumps, gotos, a fall-through, and counters.
    for (const family of [4, 6] as const) {
      const t = (args: string[]) => ipt(args, family);
      t(['-N', 'zeta']);
      t(['-N', 'alpha']);
      t(['-N', 'empty']);
      t(['-A', 'INPUT', '-p', 'tcp', '-j', 'alpha']);
      t(['-A', 'INPUT', '-p', 'udp', '-g', 'zeta']);
      t(['-A', 'INPUT', '-p', 'icmp']);
      t(['-A', 'alpha', '-j', 'zeta']);
      t(['-A', 'zeta', '-j', 'RETURN']);
      t(['-Z']);
      run(family === 6 ? 'ip6tables-legacy-restore' : 'iptables-legacy-restore', ['-c', '--noflush'], '*filter\n:FORWARD DROP [12:3456]\n[7:8] -A empty -j RETURN\nCOMMIT\n');
    }
    const scanner = new TableScanner();
    let rules = 0;
    for (const family of [4, 6] as const) {
      for (const table of liveTables(family)) rules += expectSame(family, table, scanner.read(family, table), libiptc(family, table));
    }
    expect(rules).toBeGreaterThan(3000);
    let indexed = 0;
    for (const family of [4, 6] as const) {
      for (const table of liveTables(family)) indexed += expectSameTable(family, table, readTable(family, table)!, libiptc(family, table));
    }
    expect(indexed).toBe(rules);
    const forward = scanner.read(4, 'filter').find((c) => c.name === 'FORWARD')!;
    expect(forward.policy).toEqual({ name: 'DROP', packets: 12n, bytes: 3456n });
    const empty = scanner.read(6, 'filter').find((c) => c.name === 'empty')!;
    expect([...empty.counters]).toEqual([7, 0, 8, 0]);
  });

  it('gives a chain the same digest while its rules stay the same, and another once they change', () => {
    resetKernel();
    ipt(['-N', 'svc']);
    ipt(['-N', 'other']);
    ipt(['-A', 'svc', '-p', 'tcp', '--dport', '80', '-m', 'comment', '--comment', 'web', '-j', 'other']);
    ipt(['-A', 'svc', '-p', 'udp', '-j', 'ACCEPT']);
    const scanner = new TableScanner();
    const svc = () => scanner.read(4, 'filter').find((c) => c.name === 'svc')!;
    const first = svc();
    const ruleDigests = [first.ruleDigest(0), first.ruleDigest(1)];
    expect(ruleDigests[0]).not.toBe(ruleDigests[1]);

    // Rules added before it move its entries (and the offset its jump holds); counters change.
    ipt(['-I', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    ipt(['-N', 'aaa']);
    ipt(['-A', 'aaa', '-j', 'RETURN']);
    run('iptables-legacy-restore', ['-c', '--noflush'], '*filter\n[5:500] -A svc -p icmp -j DROP\nCOMMIT\n');
    ipt(['-D', 'svc', '3']);
    const moved = svc();
    expect(moved.digest).toBe(first.digest);
    expect([moved.ruleDigest(0), moved.ruleDigest(1)]).toEqual(ruleDigests);

    // A comment changed in place (same size): another rule.
    ipt(['-R', 'svc', '1', '-p', 'tcp', '--dport', '80', '-m', 'comment', '--comment', 'wEb', '-j', 'other']);
    const edited = svc();
    expect(edited.digest).not.toBe(first.digest);
    expect(edited.ruleDigest(0)).not.toBe(ruleDigests[0]);
    expect(edited.ruleDigest(1)).toBe(ruleDigests[1]);
    const editedWeb = edited.ruleDigest(0);

    // The chain it jumps to renamed: the entry's bytes are the same, the rule is not.
    ipt(['-E', 'other', 'renamed']);
    const renamed = svc();
    expect(renamed.digest).not.toBe(edited.digest);
    expect(renamed.rule(0).label).toBe('renamed');
    expect(renamed.ruleDigest(0)).not.toBe(editedWeb);
  });

  it('refuses to hand out a rule of a read that a later read has replaced', () => {
    const scanner = new TableScanner();
    const [input] = scanner.read(4, 'filter');
    expect(input!.count).toBeGreaterThan(0);
    scanner.read(4, 'filter');
    expect(() => input!.rule(0)).toThrow(/replaced by a later one/);
    expect(input!.counters.length).toBe(input!.count * 4);
  });

  it('says which table it cannot read, with the errno', () => {
    const e = (() => {
      try {
        new TableScanner().read(4, 'nosuchtable');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(IPTCError);
    expect((e as IPTCError).code).toBe('ENOENT');
    expect((e as IPTCError).message).toBe("cannot read table `nosuchtable': no such table");
  });
});
