// A consistent view of one table: generation, table, chains and rules read between two GETGENs that
// agree, with no dump flagged as interrupted (iptables-nft's cache build, iptables/nft-cache.c).
import { NetlinkDumpInterrupted, NetlinkKernelError } from '../netlink/errors.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import { chainCompatibility, dumpChains, type NftChain } from './chain.js';
import { NftSnapshotError } from './errors.js';
import { readGeneration } from './gen.js';
import { dumpRules, type NftRule } from './rule.js';
import { dumpTables, type NftTable } from './table.js';

const ENOENT = 2;

export interface NftSnapshot {
  /** The generation every part was read at: the GENID for a batch built on this view. */
  genid: number;
  family: number;
  tableName: string;
  /** null when the table does not exist. */
  table: NftTable | null;
  /** Every chain of the table, as the kernel lists them. */
  chains: NftChain[];
  /** Each chain's rules in order, by chain name. */
  rules: Map<string, NftRule[]>;
}

/** The rules of one chain in a snapshot (empty for an unknown chain). */
export function rulesOf(snapshot: NftSnapshot, chain: string): NftRule[] {
  return snapshot.rules.get(chain) ?? [];
}

/** Base chains of the table that are not iptables' builtin chains (another program's hooks). */
export function incompatibleChains(snapshot: NftSnapshot): NftChain[] {
  return snapshot.chains.filter((c) => chainCompatibility(c) === 'incompatible');
}

/**
 * Reads `table` of `family` (2 for ip, 10 for ip6) consistently: retries while the generation moves
 * or a dump is interrupted, up to `attempts` times, then throws NftSnapshotError.
 *
 * Equivalent to: `nft -a list table ip filter` (what iptables-nft-save reads)
 */
export function readSnapshot(sock: NetlinkSocket, family: number, tableName: string, attempts = 10): NftSnapshot {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const genid = readGeneration(sock);
    try {
      const tables = dumpTables(sock, family).filter((t) => t.name === tableName);
      const table = tables[0] ?? null;
      const chains = table ? dumpChains(sock, family, tableName) : [];
      // A dump may run while a transaction that replaces the table (iptables-nft-restore: DELTABLE and
      // a rebuild) is being applied, under its new generation: the old and the new table or chains show
      // side by side (measured: two INPUT chains without rules). Such a view is read again.
      if (tables.length > 1 || new Set(chains.map((c) => c.name)).size !== chains.length) continue;
      const rules = new Map<string, NftRule[]>();
      for (const c of chains) rules.set(c.name, []);
      if (table) {
        for (const rule of dumpRules(sock, family, tableName)) {
          let list = rules.get(rule.chain);
          if (!list) {
            // A chain made after the chain dump: the generation check below retries.
            list = [];
            rules.set(rule.chain, list);
          }
          list.push(rule);
        }
      }
      if (readGeneration(sock) !== genid) continue;
      return { genid, family, tableName, table, chains, rules };
    } catch (e) {
      // The table went away between two dumps, or a dump raced a commit: read again.
      if (e instanceof NetlinkDumpInterrupted || (e instanceof NetlinkKernelError && e.code === ENOENT)) continue;
      throw e;
    }
  }
  throw new NftSnapshotError(attempts);
}

/** How long readSnapshotWithin keeps reading while other writers keep moving the ruleset. */
export const SNAPSHOT_BUDGET_MS = 30_000;
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * readSnapshot, tried again for up to `budgetMs` while other writers keep moving the ruleset, with a
 * short random pause (growing to 20 ms) between rounds of 10 reads. iptables-nft builds its cache again
 * without end, so a writer that commits every few milliseconds (an iptables-nft loop, a busy
 * kube-proxy) delays its readers but never fails them; 10 back-to-back reads of a 10,000-rule table all
 * meet such a writer's commits (measured), which without this failed the read with NftSnapshotError.
 * The pause sleeps in Atomics.wait, which ends when the thread is told to stop (iptc/async).
 *
 * Equivalent to: `nft -a list table ip filter` (what iptables-nft-save reads)
 */
export function readSnapshotWithin(sock: NetlinkSocket, family: number, tableName: string, budgetMs = SNAPSHOT_BUDGET_MS): NftSnapshot {
  const since = performance.now();
  for (let round = 1; ; round++) {
    try {
      return readSnapshot(sock, family, tableName);
    } catch (e) {
      if (!(e instanceof NftSnapshotError) || performance.now() - since > budgetMs) {
        throw e instanceof NftSnapshotError ? new NftSnapshotError(round * 10) : e;
      }
      Atomics.wait(pauseCell, 0, 0, Math.random() * Math.min(20, round));
    }
  }
}
