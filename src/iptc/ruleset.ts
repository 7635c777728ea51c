// Whole rule sets of one family: every table at once, as iptables-save and iptables-restore see them.
import { backendFor, checkBackendChoice, defaultBackend } from './backend-choice.js';
import { parseRuleSpec } from './parse.js';
import { applyBlock, refusedAt, splitTables, type RestoreOptions } from './restore.js';
import { SeenRules } from './positions.js';
import { Table, Table6, type SaveOptions } from './table.js';
import type { BackendChoice } from './table-backend.js';
import { decodeBytes, encodeText } from '../xtables/text.js';

/** Which family saveAll() and restoreAll() work on. */
export interface FamilyOptions {
  /** IPv6 (ip6tables) instead of IPv4. */
  ipv6?: boolean;
  /** The backend, as Table's `backend` option (default: Table.defaultBackend). */
  backend?: BackendChoice;
}

function backendOf(options: FamilyOptions): BackendChoice {
  return options.backend === undefined ? defaultBackend() : checkBackendChoice(options.backend, 'backend');
}

/**
 * Every instantiated table of a family, as `iptables-legacy-save [-c]` prints them (without the `#`
 * comment lines); with `encoding: 'buffer'` its exact bytes (see Table.save). Tables the kernel has not
 * instantiated are not created.
 *
 * Equivalent to: `iptables-save [-c]`
 */
export function saveAll(options: SaveOptions & FamilyOptions & { encoding: 'buffer' }): Buffer;
export function saveAll(options?: SaveOptions & FamilyOptions): string;
export function saveAll(options: SaveOptions & FamilyOptions = {}): string | Buffer {
  const TableClass = options.ipv6 ? Table6 : Table;
  const backend = backendOf(options);
  const text = backendFor(backend).tables(options.ipv6 ? 6 : 4)
    .map((name) => {
      const table = new TableClass(name, { backend });
      try {
        return table.save({ counters: options.counters });
      } finally {
        table.close();
      }
    })
    .join('');
  return options.encoding === 'buffer' ? encodeText(text) : text;
}

/**
 * Restores a whole iptables-save text (a string, or a Buffer read byte for byte) of one family: each
 * table in one atomic commit, in the order of the text. A bad line, a line outside `*table` ... `COMMIT`
 * (other than an empty line or a `#` comment), or a table the kernel refuses at commit (reported at its
 * COMMIT line) throws RestoreError naming the line; its table is left as it was (tables committed before
 * it stay committed, as with iptables-restore). Returns the tables restored.
 *
 * Equivalent to: `iptables-restore [--noflush] [--counters] < text`
 */
export function restoreAll(text: string | Buffer, options: RestoreOptions & FamilyOptions = {}): string[] {
  const blocks = splitTables(Buffer.isBuffer(text) ? decodeBytes(text) : text);
  const TableClass = options.ipv6 ? Table6 : Table;
  const backend = backendOf(options);
  for (const block of blocks) {
    const table = new TableClass(block.table, { backend });
    try {
      const RuleClass = table.ruleClass;
      const seen = new SeenRules();
      table.edit((h) => applyBlock(h, block, options, (words, lists) => parseRuleSpec(new RuleClass(), words, lists), seen));
    } catch (e) {
      throw refusedAt(block, e);
    } finally {
      table.close();
    }
  }
  return blocks.map((b) => b.table);
}
