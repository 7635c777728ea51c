// One-off: our expressions vs iptables-nft's for every accepted case of the nft baseline.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { resetKernel, run } from './kernel.js';
import { netlinkDebug } from './nft-kernel.js';

const DIR = join(import.meta.dirname, 'fixtures', 'conformance');
const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);
it('exprs', () => {
  const [header, ...rows] = readFileSync(join(DIR, 'baseline-nft-1.8.9.tsv'), 'utf8').split('\n').filter(Boolean);
  const cols = header!.split('\t');
  const at = (n: string) => cols.indexOf(n);
  const cases = rows.map((r) => r.split('\t').map(unescape)).map((f) => ({
    file: f[at('file')]!, line: Number(f[at('line')]), family: f[at('family')] === 'ipv6' ? 6 : 4, chain: f[at('chain')]!,
    table: f[at('table')]!, rule: f[at('rule')]!, result: f[at('actual_result')]!,
  }));
  const out: string[] = [];
  let n = 0;
  for (const file of [...new Set(cases.map((c) => c.file))]) {
    for (const family of [4, 6] as const) {
      const ours = cases.filter((c) => c.file === file && c.family === family);
      if (!ours.length) continue;
      resetKernel();
      run('nft', ['flush', 'ruleset']);
      const tables = new Map<string, Table>();
      const lines = readFileSync(join(DIR, 'iptables-t', file), 'utf8').split('\n');
      const tool = family === 6 ? 'ip6tables-nft' : 'iptables-nft';
      lines.forEach((text, index) => {
        if (text.startsWith('%') || text.startsWith('@')) {
          try { execFileSync('sh', ['-c', text.slice(1).replace(/^(ip6?tables)\b/, tool)], { stdio: 'pipe' }); } catch { /* */ }
        }
        for (const c of ours.filter((k) => k.line === index + 1)) {
          if (c.result === 'FAIL') continue;
          let t = tables.get(c.table);
          if (!t) { t = family === 6 ? new Table6(c.table, { backend: 'nft' }) : new Table(c.table, { backend: 'nft' }); tables.set(c.table, t); }
          const ch = t.chain(c.chain);
          try { ch.appendRule(family === 6 ? Rule6.parse(c.rule) : Rule.parse(c.rule)); } catch (e) { out.push(`${file}:${c.line} ${c.rule}: ours failed ${String(e)}`); continue; }
          try { execFileSync('sh', ['-c', `${tool} -t ${c.table} -A ${c.chain} ${c.rule}`], { stdio: 'pipe' }); } catch (e) { out.push(`${file}:${c.line} ${c.rule}: tool failed`); ch.deleteRuleAt(ch.rules.length - 1); continue; }
          n++;
          let dbg: string[][];
          try { dbg = netlinkDebug(c.table, c.chain, family); } catch (e) { out.push(`${file}:${c.line} ipv${family} ${c.rule}: nft list failed ${String((e as {stderr?: string}).stderr ?? e).slice(0, 300)}`); dbg = [['?'], ['!']]; }
          const a = dbg.at(-2)!.join('\n'), b = dbg.at(-1)!.join('\n');
          if (a !== b) out.push(`${file}:${c.line} ipv${family} ${c.chain} ${c.rule}\n  ours: ${a.replace(/\n/g, '\n        ')}\n  tool: ${b.replace(/\n/g, '\n        ')}`);
          try { ch.deleteRuleAt(ch.rules.length - 1); ch.deleteRuleAt(ch.rules.length - 1); } catch (e) {
            out.push(`${file}:${c.line} ${c.rule}: delete failed ${String(e)}`);
            run(tool, ['-t', c.table, '-F', c.chain]);
          }
        }
      });
      for (const t of tables.values()) t.close();
    }
  }
  writeFileSync('/tmp/nftconf-exprs.txt', `${n} compared\n${out.join('\n')}\n`);
}, 1_000_000);
