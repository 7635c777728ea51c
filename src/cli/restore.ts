// `iptc restore`: iptables-restore input, each table in one atomic commit, with progress per table.
import { Table, Table6, restoreAll } from '../iptc/index.js';
import type { Command } from './command.js';
import { HELP, IPV4, IPV6, PROGRESS, QUIET, TABLE, familyOf, tableOf } from './command.js';
import { readInput } from './input.js';
import { Progress } from './progress.js';

interface Block {
  table: string;
  /** The whole input with every line outside this table blanked: line numbers in errors stay true. */
  text: string;
  rules: number;
}

// Splits the input into its `*table` ... `COMMIT` blocks, so each can be restored (and reported) on
// its own. Malformed framing is left for the library's parser to report with its line number.
function blocks(text: string): Block[] | null {
  const lines = text.split('\n');
  const out: Block[] = [];
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.startsWith('*')) {
      if (start >= 0) return null;
      start = i;
    } else if (line === 'COMMIT') {
      if (start < 0) return null;
      const mine = lines.map((l, j) => (j >= start && j <= i ? l : ''));
      const rules = lines.slice(start, i).filter((l) => /^\s*(\[\d+:\d+\]\s*)?-[AIR]\s/.test(l)).length;
      out.push({ table: lines[start]!.trim().slice(1).trim(), text: mine.join('\n'), rules });
      start = -1;
    }
  }
  return start >= 0 ? null : out;
}

export const restore: Command = {
  name: 'restore',
  summary: 'apply iptables-save text, one atomic commit per table',
  usage: 'restore [-6] [-t TABLE] [-n] [-c] [--test] [FILE]',
  description:
    'Reads iptables-restore input from FILE or standard input. Each table is replaced in one atomic ' +
    'commit, in the order of the input; a bad line stops the restore with its line number and leaves its ' +
    'table as it was (tables before it stay restored, as with iptables-restore). With -t only that table ' +
    'of the input is applied.',
  options: [
    IPV6,
    IPV4,
    TABLE,
    { key: 'noflush', long: 'noflush', short: 'n', help: 'keep the existing rules and chains, apply the input on top' },
    { key: 'counters', long: 'counters', short: 'c', help: 'install the [packets:bytes] counters of the input' },
    { key: 'test', long: 'test', help: 'parse and check everything against the kernel tables, commit nothing' },
    PROGRESS,
    QUIET,
    HELP,
  ],
  run(args) {
    const text = readInput(args.positionals, 'restore');
    const family = familyOf(args);
    const only = tableOf(args);
    const options = { noflush: args.options.noflush === true, counters: args.options.counters === true };
    const found = blocks(text);
    if (found === null) {
      // Let the library name the offending line.
      restoreAll(text, { ...options, ipv6: family === 6 });
      throw new Error('restore input is malformed');
    }
    const todo = only ? found.filter((b) => b.table === only) : found;
    if (only && todo.length === 0) throw new Error(`the input has no table \`${only}'`);
    const progress = new Progress(args);
    todo.forEach((block, i) => {
      progress.step(i + 1, todo.length, `${args.options.test ? 'checking' : 'restoring'} ${block.table}`, block.rules);
      try {
        if (args.options.test === true) {
          // An uncommitted transaction: every line is parsed and applied to a private copy of the
          // kernel table, which is then dropped.
          const table = family === 6 ? new Table6(block.table, { autocommit: false }) : new Table(block.table, { autocommit: false });
          try {
            table.restore(block.text, options);
          } finally {
            table.close();
          }
        } else {
          restoreAll(block.text, { ...options, ipv6: family === 6 });
        }
      } catch (e) {
        progress.failed();
        throw e;
      }
      progress.done();
    });
    return 0;
  },
};
