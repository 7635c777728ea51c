// One fresh read of the kernel's rule sets as plain data: what `list`, `counters` and the exporter
// show, on one backend. Only tables that exist are read unless one is named, so that looking never
// creates a table (and never loads a module the host did not already use).
import { backendFor } from '../iptc/backend-choice.js';
import { Table, Table6 } from '../iptc/index.js';
import type { BackendName } from '../iptc/table-backend.js';

export type Family = 4 | 6;

export interface RuleRow {
  /** 1-based, as `iptables -L --line-numbers` counts. */
  position: number;
  /** The rule spec as iptables-save prints it, without `-A CHAIN`. */
  spec: string;
  /** The text of the rule's comment match(es), '' without one. */
  comment: string;
  /** The target or jump ('ACCEPT', a chain, 'DNAT', ...), '' for a rule without one. */
  target: string;
  packets: bigint;
  bytes: bigint;
}

export interface ChainRow {
  name: string;
  /** The policy of a built-in chain; null for a user chain. */
  policy: string | null;
  /** Policy counters (0 for user chains). */
  packets: bigint;
  bytes: bigint;
  rules: RuleRow[];
}

export interface TableRow {
  family: Family;
  table: string;
  chains: ChainRow[];
}

/**
 * The tables of a family that exist in this network namespace on a backend (legacy: instantiated
 * ip_tables; nft: iptables' tables in nf_tables), in a stable order; IPTCError if that cannot be read.
 */
export function liveTables(family: Family, backend: BackendName = 'legacy'): string[] {
  const tables = backendFor(backend).tables(family);
  // nft lists them in iptables-nft-save's fixed order already.
  return backend === 'legacy' ? tables.sort(byIptablesOrder) : tables;
}

// iptables-save prints tables in the kernel's order, which varies with load order; a stable order
// makes output comparable between runs.
function byIptablesOrder(a: string, b: string): number {
  const rank = (t: string) => {
    const i = Table.ALL.indexOf(t);
    return i < 0 ? Table.ALL.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** Reads one table (fresh handle, closed before returning). */
export function readTable(family: Family, name: string, backend: BackendName = 'legacy'): TableRow {
  const table = family === 6 ? new Table6(name, { backend }) : new Table(name, { backend });
  try {
    const chains = table.chains.map((chain): ChainRow => {
      const policy = chain.getPolicy();
      const counters = policy ? chain.getCounters() : null;
      return {
        name: chain.name,
        policy: policy ? policy.name : null,
        packets: counters?.packets ?? 0n,
        bytes: counters?.bytes ?? 0n,
        rules: chain.rules.map((rule, i) => {
          const target = rule.target;
          return {
            position: i + 1,
            spec: rule.toString(),
            comment: rule.matches
              .filter((m) => m.name === 'comment')
              .map((m) => m.get('comment') ?? '')
              .join('; '),
            target: target ? (target.standardTarget ?? target.name) : '',
            packets: rule.counters.packets,
            bytes: rule.counters.bytes,
          };
        }),
      };
    });
    return { family, table: name, chains };
  } finally {
    table.close();
  }
}

/** The named table, or every live table of the family. */
export function readTables(family: Family, table?: string, backend: BackendName = 'legacy'): TableRow[] {
  const names = table ? [table] : liveTables(family, backend);
  return names.map((name) => readTable(family, name, backend));
}
