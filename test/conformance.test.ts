// Every case of the iptables project's own extension tests (test/fixtures/conformance/iptables-t/*.t), run
// through Rule.parse, appended in the listed table and chain, committed and read back, compared with
// what iptables-legacy 1.8.9 did on this kernel (test/fixtures/conformance/baseline-legacy-1.8.9.tsv).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { resetKernel, type Family } from './kernel.js';

const CONFORMANCE = join(import.meta.dirname, 'fixtures', 'conformance');
const BASELINE = join(CONFORMANCE, 'baseline-legacy-1.8.9.tsv');

interface Case {
  file: string;
  line: number;
  family: Family;
  chain: string;
  table: string;
  rule: string;
  /** OK, NOMATCH or FAIL, as iptables-legacy 1.8.9 did it. */
  result: string;
  /** The text iptables-legacy-save printed after `-A CHAIN ` (OK and NOMATCH). */
  saved: string;
  /** 2: the parser refused it; 1: the kernel refused it. */
  addRc: number;
}

const unescape = (s: string) =>
  s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);

function loadBaseline(): Case[] {
  const [header, ...rows] = readFileSync(BASELINE, 'utf8').split('\n').filter(Boolean);
  const cols = header!.split('\t');
  const at = (name: string) => cols.indexOf(name);
  return rows.map((row) => {
    const f = row.split('\t').map(unescape);
    const result = f[at('actual_result')]!;
    return {
      file: f[at('file')]!,
      line: Number(f[at('line')]),
      family: f[at('family')] === 'ipv6' ? 6 : 4,
      chain: f[at('chain')]!,
      table: f[at('table')]!,
      rule: f[at('rule')]!,
      result,
      saved: result === 'NOMATCH' ? f[at('actual_saved_text_if_differs')]! : f[at('expected_saved')]!,
      addRc: Number(f[at('add_rc')]),
    };
  });
}

// Read at collection time and never optional: a missing or unreadable corpus fails this file, it does
// not shrink it to nothing.
const cases = loadBaseline();
const files = [...new Set(cases.map((c) => c.file))];

/** What our library does with one case, in the baseline's terms. */
function runCase(c: Case, tables: Map<string, Table>): { result: string; saved: string; detail: string } {
  let rule: Rule;
  try {
    rule = c.family === 6 ? Rule6.parse(c.rule) : Rule.parse(c.rule);
  } catch (e) {
    return { result: 'FAIL', saved: '', detail: `parse: ${(e as Error).name}: ${(e as Error).message}` };
  }
  let table = tables.get(c.table);
  if (!table) {
    table = c.family === 6 ? new Table6(c.table) : new Table(c.table);
    tables.set(c.table, table);
  }
  const chain = table.chain(c.chain);
  try {
    chain.appendRule(rule);
  } catch (e) {
    if (!(e instanceof IPTCError)) throw e;
    return { result: 'FAIL', saved: '', detail: `kernel: ${e.message}` };
  }
  const rules = chain.rules;
  const saved = rules[rules.length - 1]!.toString();
  chain.deleteRuleAt(rules.length - 1);
  return { result: saved === c.saved ? c.result : 'DIFFERENT', saved, detail: '' };
}

/** Runs the `@` (shell) and `%` (iptables) lines of a .t file, as the baseline run did. */
function external(text: string, family: Family): void {
  let cmd = text.slice(1).trim();
  if (text.startsWith('%')) cmd = cmd.replace(/^(ip6?tables)\b/, family === 6 ? 'ip6tables-legacy' : 'iptables-legacy');
  try {
    execFileSync('sh', ['-c', cmd], { stdio: 'pipe' });
  } catch {
    // The baseline ran these the same way and ignored their status (nfct and nfacct are not installed).
  }
}

const totals = { cases: 0, agree: 0 };

afterAll(() => {
  if (totals.cases > 0) {
    console.log(`conformance: ${totals.agree} of ${totals.cases} cases agree with iptables-legacy 1.8.9`);
  }
});

describe('conformance with iptables-legacy 1.8.9 on the iptables extension tests', () => {
  it('has the whole corpus: 4,853 cases, from every .t file there is', () => {
    expect(cases.length).toBe(4853);
    const corpus = readdirSync(join(CONFORMANCE, 'iptables-t')).filter((f) => f.endsWith('.t'));
    expect(corpus).toHaveLength(123);
    expect([...files].sort()).toEqual(corpus.sort());
  });

  for (const file of files) {
    it(file, () => {
      const mismatches: string[] = [];
      for (const family of [4, 6] as const) {
        const ours = cases.filter((c) => c.file === file && c.family === family);
        if (ours.length === 0) continue;
        resetKernel();
        const tables = new Map<string, Table>();
        const lines = readFileSync(join(CONFORMANCE, 'iptables-t', file), 'utf8').split('\n');
        lines.forEach((text, index) => {
          if (text.startsWith('@') || text.startsWith('%')) external(text, family);
          for (const c of ours.filter((k) => k.line === index + 1)) {
            totals.cases++;
            const got = runCase(c, tables);
            const agrees =
              got.result === c.result &&
              (c.result !== 'FAIL' || c.addRc !== 1 || got.detail.startsWith('kernel:')) &&
              (c.result !== 'FAIL' || c.addRc !== 2 || got.detail.startsWith('parse:'));
            if (agrees) totals.agree++;
            else {
              mismatches.push(
                `${file}:${c.line} ipv${family} ${c.table}/${c.chain} \`${c.rule}'\n` +
                  `    iptables: ${c.result}${c.result === 'FAIL' ? ` (rc ${c.addRc})` : ` \`${c.saved}'`}\n` +
                  `    iptc:     ${got.result} ${got.detail || `\`${got.saved}'`}`,
              );
            }
          }
        });
        for (const t of tables.values()) t.close();
      }
      expect(mismatches, mismatches.join('\n')).toEqual([]);
    });
  }
});
