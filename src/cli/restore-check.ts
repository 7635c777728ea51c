// `iptc restore --test`: each table of the input is applied to a private copy and committed nowhere. A
// table the kernel has in use is copied from the kernel (an uncommitted transaction). One it has not is
// checked against the table as the kernel would create it (its built-in chains, empty): reading the
// kernel table would create it, and a check must leave the kernel as it was.
import { constants } from 'node:os';
import { backendFor } from '../iptc/backend-choice.js';
import { IPTCError, RestoreError, Table, Table6, type RestoreOptions } from '../iptc/index.js';
import { parseRuleSpec } from '../iptc/parse.js';
import { applyBlock, type TableBlock } from '../iptc/restore.js';
import { SeenRules } from '../iptc/positions.js';
import type { BackendChoice } from '../iptc/table-backend.js';
import { ScratchTable } from '../xtables/scratch-table.js';

/** Checks one table block of a restore input (`text`: the input with the other tables' lines blanked). */
export function checkBlock(family: 4 | 6, block: TableBlock, text: string, options: RestoreOptions, backend: BackendChoice = 'legacy'): void {
  const TableClass = family === 6 ? Table6 : Table;
  const kernel = backendFor(backend);
  // nf_tables: reading a table that does not exist creates nothing (its view is the empty builtin chains).
  if (kernel.name === 'nft' || !Table.ALL.includes(block.table) || kernel.tables(family).includes(block.table)) {
    const table = new TableClass(block.table, { autocommit: false, backend });
    try {
      table.restore(text, options);
    } finally {
      table.close();
    }
    return;
  }
  if (!kernel.isAvailable(family, block.table)) {
    const cause = new IPTCError(`cannot open table \`${block.table}': Table does not exist (do you need to insmod?)`, constants.errno.ENOENT);
    throw new RestoreError(block.start, `*${block.table}`, cause);
  }
  // A built-in table not in use reads as its empty built-in chains, without the kernel.
  const table = new TableClass(block.table, { backend });
  let builtins: string[];
  try {
    builtins = table.chains.map((c) => c.name);
  } finally {
    table.close();
  }
  const RuleClass = table.ruleClass;
  applyBlock(new ScratchTable(family, block.table, builtins), block, options, (words, lists) => parseRuleSpec(new RuleClass(), words, lists), new SeenRules());
}
