// Every case of the iptables project's own extension tests (test/fixtures/conformance/iptables-t/*.t), run
// through Rule.parse, appended in the listed table and chain on each backend, committed and read back,
// compared with what iptables 1.8.9 did on this kernel: iptables-legacy for the legacy backend
// (baseline-legacy-1.8.9.tsv), iptables-nft for the nft backend (baseline-nft-1.8.9.tsv). On nf_tables each
// accepted rule is also read back by iptables-nft-save, which must print the same text, and must be the
// very expressions iptables-nft-restore writes for the same rule, byte for byte. Where iptables-nft
// 1.8.9 changes a rule's meaning, iptc keeps it instead: those cases are listed in DELIBERATE with the
// reason and the result that keeps the meaning, which is asserted.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { NetlinkSocket } from '../src/netlink/socket.js';
import { NftBatch } from '../src/nft/batch.js';
import { NftTranslateError } from '../src/nft/errors.js';
import { readSnapshot, rulesOf } from '../src/nft/snapshot.js';
import { XT_TCP, XT_UDP } from '../src/xtables/blobs.js';
import { EXTENSION_HEADER, extensionName, splitEntry } from '../src/xtables/entry.js';
import { resetKernel, run, type Family } from './kernel.js';
import { netlinkDebug } from './nft-kernel.js';

let socket: NetlinkSocket | null = null;
/** The socket the test reads and deletes iptables-nft's copies with. */
const nftSocket = (): NetlinkSocket => (socket ??= new NetlinkSocket());
afterAll(() => socket?.close());

const CONFORMANCE = join(import.meta.dirname, 'fixtures', 'conformance');

type Backend = 'legacy' | 'nft';

interface Case {
  file: string;
  line: number;
  family: Family;
  chain: string;
  table: string;
  rule: string;
  /** OK, NOMATCH or FAIL, as iptables 1.8.9 did it. */
  result: string;
  /** The text iptables-save printed after `-A CHAIN ` (OK and NOMATCH). */
  saved: string;
  /** 2: the parser refused it; 1 (legacy) or 4 (nft): the kernel refused it. */
  addRc: number;
  /** What iptables printed on stderr. */
  stderr: string;
}

const unescape = (s: string) =>
  s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);

function loadBaseline(backend: Backend): Case[] {
  const text = readFileSync(join(CONFORMANCE, `baseline-${backend}-1.8.9.tsv`), 'utf8');
  const [header, ...rows] = text.split('\n').filter(Boolean);
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
      stderr: f[at('stderr')]!,
    };
  });
}

/**
 * The cases where iptc deliberately differs from iptables-nft 1.8.9, because 1.8.9 changes the rule's
 * meaning. Each entry covers its line in every chain and family the .t file lists; `cases` is how many
 * that makes, so that an entry cannot silently stop applying.
 */
interface Deliberate {
  file: string;
  line: number;
  rule: string;
  cases: number;
  reason: string;
  /** What iptc does instead: accepted and saved as this text (the meaning kept). */
  saved: string;
  /**
   * Checks, on the rule read back from the kernel and the expressions `nft --debug=netlink` lists for
   * it, that the meaning is the one asked for.
   */
  kept: (c: Case, readBack: Rule, exprs: string[]) => void;
}

/** An inverted full port range must stay in the kernel as an inverted xt_tcp/xt_udp blob (matches nothing). */
function invertedFullRange(proto: 'tcp' | 'udp', side: 'src' | 'dst') {
  return (c: Case, readBack: Rule, exprs: string[]): void => {
    const spec = proto === 'tcp' ? XT_TCP : XT_UDP;
    const blobs = splitEntry(c.family, readBack.toEntry()).matches.filter((m) => extensionName(m) === proto);
    expect(blobs, `${c.file}:${c.line} ${c.chain}: one ${proto} match`).toHaveLength(1);
    const data = blobs[0]!.subarray(EXTENSION_HEADER);
    const at = side === 'src' ? spec.SPTS : spec.DPTS;
    expect([data.readUInt16LE(at), data.readUInt16LE(at + 2)]).toEqual([0, 0xffff]);
    expect(data[spec.INVFLAGS]! & (side === 'src' ? spec.INV_SRCPT : spec.INV_DSTPT)).not.toBe(0);
    // iptables-nft 1.8.9 writes no port expression at all; iptc keeps the nft_compat match.
    expect(exprs.some((e) => e.startsWith(`[ match name ${proto} rev 0 ]`)), exprs.join('\n')).toBe(true);
    expect(exprs.some((e) => e.startsWith('[ payload load 2b @ transport header')), exprs.join('\n')).toBe(false);
  };
}

const FULL_RANGE_REASON =
  'iptables-nft 1.8.9 writes no port expression for an inverted full range (iptables/nft.c add_nft_tcpudp), so ' +
  'the rule matches every packet of the protocol (saved as a bare `-p PROTO`; a DROP rule drops it all), where ' +
  'the rule asked for matches none. iptc keeps the xt match as nft_compat, which keeps that meaning; ' +
  'iptables-nft-save then prints what iptables-legacy-save prints for it';

const DELIBERATE: Deliberate[] = [
  { file: 'libxt_tcp.t', line: 10, rule: '-p tcp -m tcp ! --sport :', cases: 6, reason: FULL_RANGE_REASON,
    saved: '-p tcp -m tcp', kept: invertedFullRange('tcp', 'src') },
  { file: 'libxt_tcp.t', line: 16, rule: '-p tcp -m tcp ! --dport :', cases: 6, reason: FULL_RANGE_REASON,
    saved: '-p tcp -m tcp', kept: invertedFullRange('tcp', 'dst') },
  { file: 'libxt_udp.t', line: 10, rule: '-p udp -m udp ! --sport :', cases: 6, reason: FULL_RANGE_REASON,
    saved: '-p udp -m udp', kept: invertedFullRange('udp', 'src') },
  { file: 'libxt_udp.t', line: 16, rule: '-p udp -m udp ! --dport :', cases: 6, reason: FULL_RANGE_REASON,
    saved: '-p udp -m udp', kept: invertedFullRange('udp', 'dst') },
];

const deliberateFor = (c: Case) => DELIBERATE.find((d) => d.file === c.file && d.line === c.line);

/** How one backend is set up, reset and read back. */
interface Mode {
  backend: Backend;
  /** The iptables front end of the baseline, for the .t files' `%iptables` lines. */
  tool: (family: Family) => string;
  reset: () => void;
  /** The add_rc of a kernel refusal in the baseline. */
  kernelRc: number;
}

const MODES: Mode[] = [
  {
    backend: 'legacy',
    tool: (family) => (family === 6 ? 'ip6tables-legacy' : 'iptables-legacy'),
    reset: resetKernel,
    kernelRc: 1,
  },
  {
    backend: 'nft',
    tool: (family) => (family === 6 ? 'ip6tables-nft' : 'iptables-nft'),
    reset: () => {
      resetKernel();
      run('nft', ['flush', 'ruleset']);
    },
    kernelRc: 4,
  },
];

/** The `-A` lines iptables-nft-save prints for a table, by chain, without `-A CHAIN `. */
function nftSaved(family: Family, table: string): Map<string, string[]> {
  const out = run(family === 6 ? 'ip6tables-nft-save' : 'iptables-nft-save', ['-t', table]);
  const byChain = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^-A (\S+)(?: (.*))?$/.exec(line);
    if (!m) continue;
    byChain.set(m[1]!, [...(byChain.get(m[1]!) ?? []), m[2] ?? '']);
  }
  return byChain;
}

interface Outcome {
  result: string;
  saved: string;
  /** Who refused a FAIL: the parser, the nf_tables translation, or the kernel. */
  stage?: 'parse' | 'translate' | 'kernel';
  detail: string;
  /** Why the nf_tables translation refused it. */
  reason?: string;
  /** The rule as read back from the kernel (accepted cases). */
  readBack?: Rule;
  /** What iptables-nft-save printed for it (nft, accepted cases). */
  toolSaved?: string | undefined;
  /** Its expressions as `nft --debug=netlink` lists them (nft, deliberate cases). */
  exprs?: string[];
  /** 'same' when iptables-nft wrote the same expressions for the rule, else how they differ. */
  toolExprs?: string;
  /** Deletes the accepted rule again. */
  remove?: () => void;
}

/**
 * What our library does with one case, in the baseline's terms: parsed, appended (one commit) and read
 * back. An accepted rule stays in its chain until `remove`, so that iptables-nft-save reads the rules of
 * one .t line together.
 */
function addCase(c: Case, mode: Mode, tables: Map<string, Table>): Outcome {
  let rule: Rule;
  try {
    rule = c.family === 6 ? Rule6.parse(c.rule) : Rule.parse(c.rule);
  } catch (e) {
    return { result: 'FAIL', saved: '', stage: 'parse', detail: `${(e as Error).name}: ${(e as Error).message}` };
  }
  let table = tables.get(c.table);
  if (!table) {
    const opts = { backend: mode.backend };
    table = c.family === 6 ? new Table6(c.table, opts) : new Table(c.table, opts);
    tables.set(c.table, table);
  }
  const chain = table.chain(c.chain);
  try {
    chain.appendRule(rule);
  } catch (e) {
    if (!(e instanceof IPTCError)) throw e;
    if (e instanceof NftTranslateError) {
      return { result: 'FAIL', saved: '', stage: 'translate', detail: `${e.name}: ${e.message}`, reason: e.reason };
    }
    return { result: 'FAIL', saved: '', stage: 'kernel', detail: `${e.name}: ${e.message}` };
  }
  const rules = chain.rules;
  const readBack = rules[rules.length - 1]!;
  const outcome: Outcome = {
    result: 'ACCEPTED',
    saved: readBack.toString(),
    detail: '',
    readBack,
    remove: () => chain.deleteRuleAt(chain.rules.length - 1),
  };
  if (mode.backend === 'nft' && deliberateFor(c)) outcome.exprs = netlinkDebug(c.table, c.chain, c.family).at(-1) ?? [];
  return outcome;
}

/**
 * Appends the same rules with iptables-nft-restore right after ours, and checks that the kernel holds the
 * same expressions, byte for byte, for both; then deletes iptables-nft's copies.
 */
function compareWithTool(accepted: { c: Case; got: Outcome }[]): void {
  if (accepted.length === 0) return;
  const { family, table } = accepted[0]!.c;
  const text = `*${table}\n${accepted.map(({ c }) => `-A ${c.chain} ${c.rule}\n`).join('')}COMMIT\n`;
  try {
    run(family === 6 ? 'ip6tables-nft-restore' : 'iptables-nft-restore', ['--noflush'], text);
  } catch (e) {
    for (const { got } of accepted) got.toolExprs = `iptables-nft-restore failed: ${(e as { stderr?: string }).stderr ?? String(e)}`;
    return;
  }
  const snap = readSnapshot(nftSocket(), family === 6 ? 10 : 2, table);
  const batch = new NftBatch(family);
  for (const { c, got } of accepted) {
    const rules = rulesOf(snap, c.chain);
    const [ours, theirs] = [rules.at(-2), rules.at(-1)];
    got.toolExprs = ours && theirs && ours.expressions.equals(theirs.expressions) ? 'same' :
      `ours ${ours?.expressions.toString('hex')}, iptables-nft's ${theirs?.expressions.toString('hex')}`;
    if (theirs) batch.deleteRule(table, c.chain, theirs.handle);
  }
  batch.commit(nftSocket(), { genid: snap.genid });
}

/** Runs the cases of one .t line (the same rule in each of its chains) and judges each; returns the mismatches. */
function runLine(line: Case[], mode: Mode, tables: Map<string, Table>): { c: Case; got: Outcome; wrong: string | null }[] {
  const outcomes = line.map((c) => ({ c, got: addCase(c, mode, tables) }));
  const accepted = outcomes.filter((o) => o.got.remove);
  if (mode.backend === 'nft' && accepted.length > 0) {
    // The real tool must read each of our rules as the same text: one save for the whole line.
    const byTable = new Map<string, Map<string, string[]>>();
    for (const { c, got } of accepted) {
      if (!byTable.has(c.table)) byTable.set(c.table, nftSaved(c.family, c.table));
      got.toolSaved = byTable.get(c.table)!.get(c.chain)?.at(-1);
    }
    compareWithTool(accepted.filter(({ c }) => !deliberateFor(c)));
  }
  for (const { got } of accepted) got.remove!();
  return outcomes.map(({ c, got }) => ({ c, got, wrong: judge(c, mode, got) }));
}

/** Runs the `@` (shell) and `%` (iptables) lines of a .t file, as the baseline run did. */
function external(text: string, family: Family, mode: Mode): void {
  let cmd = text.slice(1).trim();
  if (text.startsWith('%')) cmd = cmd.replace(/^(ip6?tables)\b/, mode.tool(family));
  try {
    execFileSync('sh', ['-c', cmd], { stdio: 'pipe' });
  } catch {
    // The baseline ran these the same way and ignored their status (nfct and nfacct are not installed).
  }
}

/** Whether the outcome is what iptables 1.8.9 did; for a deliberate case, whether it is what iptc means to do. */
function judge(c: Case, mode: Mode, got: Outcome): string | null {
  const deliberate = mode.backend === 'nft' ? deliberateFor(c) : undefined;
  const want = deliberate ? { result: 'ACCEPTED', saved: deliberate.saved } : c;
  if (want.result === 'FAIL') {
    if (got.result !== 'FAIL') return 'accepted';
    if (c.addRc === 2) {
      if (got.stage === 'parse') return null;
      // iptables-nft's parser also refuses what it would write natively but cannot (`-m tcp` without
      // `-p tcp`): iptc's translation refuses it before anything is sent, for the same reason.
      const said = /\(nf_tables\): ([^\n]*)/.exec(c.stderr)?.[1];
      if (got.stage === 'translate' && mode.backend === 'nft' && got.reason === said) return null;
      return `refused by the ${got.stage}, not by the parser (iptables said: ${said})`;
    }
    if (c.addRc === mode.kernelRc) return got.stage === 'kernel' ? null : `refused by the ${got.stage}, not the kernel`;
    return `unexpected add_rc ${c.addRc} in the baseline`;
  }
  if (got.result === 'FAIL') return 'refused';
  if (got.saved !== want.saved) return 'saved differently';
  if (mode.backend === 'nft' && got.toolSaved !== want.saved) return `iptables-nft-save prints \`${got.toolSaved}'`;
  if (mode.backend === 'nft' && !deliberate && got.toolExprs !== 'same') return `not what iptables-nft writes: ${got.toolExprs}`;
  try {
    deliberate?.kept(c, got.readBack!, got.exprs!);
  } catch (e) {
    return `meaning not kept: ${(e as Error).message}`;
  }
  return null;
}

describe.each(MODES.map((m) => [m.backend, m] as const))('conformance with iptables-%s 1.8.9 on the iptables extension tests', (_, mode) => {
  // Read at collection time and never optional: a missing or unreadable corpus fails this file, it does
  // not shrink it to nothing.
  const cases = loadBaseline(mode.backend);
  const files = [...new Set(cases.map((c) => c.file))];
  const totals = { cases: 0, agree: 0, deliberate: 0 };

  afterAll(() => {
    if (totals.cases === 0) return;
    const tail = mode.backend === 'nft' ? `, ${totals.deliberate} differ on purpose (meaning kept)` : '';
    console.log(`conformance: ${totals.agree} of ${totals.cases} cases agree with iptables-${mode.backend} 1.8.9${tail}`);
  });

  it('has the whole corpus: 4,853 cases, from every .t file there is', () => {
    expect(cases.length).toBe(4853);
    const corpus = readdirSync(join(CONFORMANCE, 'iptables-t')).filter((f) => f.endsWith('.t'));
    expect(corpus).toHaveLength(123);
    expect([...files].sort()).toEqual(corpus.sort());
  });

  if (mode.backend === 'nft') {
    it('lists each deliberate difference against the case iptables-nft 1.8.9 gets wrong', () => {
      for (const d of DELIBERATE) {
        const hit = cases.filter((c) => c.file === d.file && c.line === d.line);
        expect(hit.map((c) => c.rule), `${d.file}:${d.line}`).toEqual(hit.map(() => d.rule));
        expect(hit, `${d.file}:${d.line}`).toHaveLength(d.cases);
        // What 1.8.9 did: accepted, and saved as a bare `-p PROTO` (the meaning changed).
        expect(new Set(hit.map((c) => `${c.result} ${c.saved}`))).toEqual(new Set([`NOMATCH ${d.saved.replace(/ -m \w+$/, '')}`]));
      }
    });
  }

  for (const file of files) {
    it(file, () => {
      const mismatches: string[] = [];
      for (const family of [4, 6] as const) {
        const ours = cases.filter((c) => c.file === file && c.family === family);
        if (ours.length === 0) continue;
        mode.reset();
        const tables = new Map<string, Table>();
        const lines = readFileSync(join(CONFORMANCE, 'iptables-t', file), 'utf8').split('\n');
        lines.forEach((text, index) => {
          if (text.startsWith('@') || text.startsWith('%')) external(text, family, mode);
          const line = ours.filter((k) => k.line === index + 1);
          if (line.length === 0) return;
          for (const { c, got, wrong } of runLine(line, mode, tables)) {
            totals.cases++;
            if (wrong === null) {
              if (mode.backend === 'nft' && deliberateFor(c)) totals.deliberate++;
              else totals.agree++;
              continue;
            }
            const deliberate = mode.backend === 'nft' ? deliberateFor(c) : undefined;
            mismatches.push(
              `${file}:${c.line} ipv${family} ${c.table}/${c.chain} \`${c.rule}': ${wrong}\n` +
                (deliberate
                  ? `    iptc should: keep the meaning, saved as \`${deliberate.saved}' (${deliberate.reason})\n`
                  : `    iptables: ${c.result}${c.result === 'FAIL' ? ` (rc ${c.addRc})` : ` \`${c.saved}'`}\n`) +
                `    iptc:     ${got.result}${got.stage ? ` (${got.stage})` : ''} ${got.detail || `\`${got.saved}'`}`,
            );
          }
        });
        for (const t of tables.values()) t.close();
      }
      expect(mismatches, mismatches.join('\n')).toEqual([]);
    });
  }
});
