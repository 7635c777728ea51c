// Whole rule sets of one family: every table at once, as iptables-save and iptables-restore see them.
import { instantiatedTables } from './backend.js';
import { parseRuleSpec } from './parse.js';
import { applyBlock, splitTables, type RestoreOptions } from './restore.js';
import { SeenRules } from './positions.js';
import { Table, Table6, type SaveOptions } from './table.js';

export interface FamilyOptions {
  /** IPv6 (ip6tables) instead of IPv4. */
  ipv6?: boolean;
}

/**
 * Every instantiated table of a family, as `iptables-legacy-save [-c]` prints them (without the `#`
 * comment lines). Tables the kernel has not instantiated are not created.
 *
 * Equivalent to: `iptables-save [-c]`
 */
export function saveAll(options: SaveOptions & FamilyOptions = {}): string {
  const TableClass = options.ipv6 ? Table6 : Table;
  return instantiatedTables(options.ipv6 ? 6 : 4)
    .map((name) => {
      const table = new TableClass(name);
      try {
        return table.save(options);
      } finally {
        table.close();
      }
    })
    .join('');
}

/**
 * Restores a whole iptables-save text of one family: each table in one atomic commit, in the order of
 * the text. A bad line throws RestoreError naming it; its table is left as it was (tables committed
 * before it stay committed, as with iptables-restore). Returns the tables restored.
 *
 * Equivalent to: `iptables-restore [--noflush] [--counters] < text`
 */
export function restoreAll(text: string, options: RestoreOptions & FamilyOptions = {}): string[] {
  const blocks = splitTables(text);
  const TableClass = options.ipv6 ? Table6 : Table;
  for (const block of blocks) {
    const table = new TableClass(block.table);
    try {
      const RuleClass = table.ruleClass;
      const seen = new SeenRules();
      table.edit((h) => applyBlock(h, block, options, (words, lists) => parseRuleSpec(new RuleClass(), words, lists), seen));
    } finally {
      table.close();
    }
  }
  return blocks.map((b) => b.table);
}
