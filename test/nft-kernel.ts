// Helpers for the nf_tables binding tests: the iptables-nft / nft tools as the oracle, and what the
// binding reads back, inside the private namespace made by scripts/netns-run.mjs.
import { afterAll, beforeEach } from 'vitest';
import { run } from './kernel.js';
import { NetlinkSocket } from '../src/netlink/socket.js';
import { NftBatch, type EntryRule } from '../src/nft/batch.js';
import { readSnapshot, rulesOf } from '../src/nft/snapshot.js';
import { Rule, Rule6 } from '../src/iptc/index.js';
import type { Family } from '../src/xtables/shim.js';

export const nfproto = (family: Family): number => (family === 6 ? 10 : 2);
const tool = (family: Family, suffix = '') => `${family === 6 ? 'ip6tables' : 'iptables'}-nft${suffix}`;

/** `iptables-nft ARGS` (or ip6tables-nft). */
export function iptNft(args: string[], family: Family = 4): string {
  return run(tool(family), args);
}

/** `iptables-nft-restore --noflush` of `text`. */
export function restoreNft(text: string, family: Family = 4): void {
  run(tool(family, '-restore'), [], text);
}

/** The `-A` lines of `iptables-nft-save -t TABLE`, by chain, without `-A CHAIN `. */
export function savedRules(table: string, family: Family = 4, counters = false): Map<string, string[]> {
  const out = run(tool(family, '-save'), ['-t', table, ...(counters ? ['-c'] : [])]);
  const byChain = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^(\[\d+:\d+\] )?-A (\S+) (.*)$/.exec(line) ?? /^(\[\d+:\d+\] )?-A (\S+)()$/.exec(line);
    if (!m) continue;
    const list = byChain.get(m[2]!) ?? [];
    list.push(`${m[1] ?? ''}${m[3]}`);
    byChain.set(m[2]!, list);
  }
  return byChain;
}

/** The expression lines `nft --debug=netlink list chain` prints for each rule of a chain. */
export function netlinkDebug(table: string, chain: string, family: Family = 4): string[][] {
  const out = run('nft', ['--debug=netlink', 'list', 'chain', family === 6 ? 'ip6' : 'ip', table, chain]);
  const rules: string[][] = [];
  let current: string[] | null = null;
  for (const line of out.split('\n')) {
    if (/^ip6? \S+ \S+ \d+/.test(line)) {
      current = [];
      rules.push(current);
    } else if (current && /^\s+\[ /.test(line)) {
      current.push(line.trim());
    } else if (line.trim() === '') {
      current = null;
    }
  }
  return rules;
}

/** Empties the nf_tables ruleset of the namespace before each test and after the file. */
export function freshNftEachTest(): void {
  const flush = () => run('nft', ['flush', 'ruleset']);
  beforeEach(flush);
  afterAll(flush);
}

/** One socket per test file. */
export function sharedSocket(): { sock: NetlinkSocket } {
  const holder = { sock: null as unknown as NetlinkSocket };
  holder.sock = new NetlinkSocket();
  afterAll(() => holder.sock.close());
  return holder;
}

/** What the binding writes for a parsed rule: its entry and whether the target is a standard one. */
export function entryRule(rule: Rule): EntryRule {
  const target = rule.target;
  return { entry: rule.toEntry(), standard: target === null || target.standardTarget !== null };
}

export function parseRule(family: Family, spec: string): Rule {
  return family === 6 ? Rule6.parse(spec) : Rule.parse(spec);
}

/**
 * Appends parsed rules to `chain` of `table` in one batch (creating the table, the builtin chain or the
 * user chain as needed), on the snapshot's generation.
 */
export function appendParsed(sock: NetlinkSocket, family: Family, table: string, chain: string, specs: string[],
  opts: { userChain?: boolean } = {}): void {
  const snap = readSnapshot(sock, nfproto(family), table);
  const batch = new NftBatch(family);
  batch.addTable(table);
  if (!snap.chains.some((c) => c.name === chain)) {
    if (opts.userChain) batch.addChain(table, chain);
    else batch.addBuiltinChain(table, chain);
  }
  for (const spec of specs) batch.appendRule(table, chain, entryRule(parseRule(family, spec)));
  batch.commit(sock, { genid: snap.genid });
}

/** The rules of a chain, decoded and printed as iptables-save does. */
export function decodedRules(sock: NetlinkSocket, family: Family, table: string, chain: string): string[] {
  const snap = readSnapshot(sock, nfproto(family), table);
  const R = family === 6 ? Rule6 : Rule;
  return rulesOf(snap, chain).map((r) => R.fromEntry(r.toEntry()).toString());
}
