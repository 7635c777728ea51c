// `iptc restore`: iptables-restore input, each table in one atomic commit, with progress per table.
import { restoreAll } from '../iptc/index.js';
import { splitTables, type TableBlock } from '../iptc/restore.js';
import { checkBlock } from './restore-check.js';
import type { Command } from './command.js';
import { BACKEND, HELP, IPV4, IPV6, PROGRESS, QUIET, TABLE, backendOf, familyOf, tableOf } from './command.js';
import { readInput } from './input.js';
import { Progress } from './progress.js';

/** One table of the input: its text keeps every line of the input, with the other tables' blanked, so
 * that the line numbers in errors stay those of the input. */
interface Block {
  table: string;
  text: string;
  rules: number;
  block: TableBlock;
}

// The framing is checked for the whole input first, by the library's own parser: a line outside the
// `*table` ... `COMMIT` blocks (such as `iptables -S` output) is refused with its number before any
// table is touched, as iptables-restore refuses it.
function blocks(text: string): Block[] {
  const lines = text.split('\n');
  return splitTables(text).map((b) => {
    const mine = new Set([b.start, b.commit, ...b.lines.map(([n]) => n)]);
    return {
      block: b,
      table: b.table,
      text: lines.map((l, i) => (mine.has(i + 1) ? l : '')).join('\n'),
      rules: b.lines.filter(([, l]) => /^\s*(\[\d+:\d+\]\s*)?-[AIR]\s/.test(l)).length,
    };
  });
}

export const restore: Command = {
  name: 'restore',
  summary: 'apply iptables-save text, one atomic commit per table',
  usage: 'restore [-6] [-t TABLE] [--backend B] [-n] [-c] [--test] [FILE]',
  description:
    'Reads iptables-restore input from FILE or standard input. Each table is replaced in one atomic ' +
    'commit, in the order of the input; a bad line stops the restore with its line number and leaves its ' +
    'table as it was (tables before it stay restored, as with iptables-restore). With -t only that table ' +
    'of the input is applied.',
  options: [
    IPV6,
    IPV4,
    TABLE,
    BACKEND,
    { key: 'noflush', long: 'noflush', short: 'n', help: 'keep the existing rules and chains, apply the input on top' },
    { key: 'counters', long: 'counters', short: 'c', help: 'install the [packets:bytes] counters of the input' },
    { key: 'test', long: 'test', help: 'parse and check everything against the kernel tables, commit nothing, create no table' },
    PROGRESS,
    QUIET,
    HELP,
  ],
  run(args) {
    const text = readInput(args.positionals, 'restore', true);
    const family = familyOf(args);
    const only = tableOf(args);
    const { choice: backend } = backendOf(args);
    const options = { noflush: args.options.noflush === true, counters: args.options.counters === true };
    const found = blocks(text);
    const todo = only ? found.filter((b) => b.table === only) : found;
    if (only && todo.length === 0) throw new Error(`the input has no table \`${only}'`);
    const progress = new Progress(args);
    todo.forEach((block, i) => {
      progress.step(i + 1, todo.length, `${args.options.test ? 'checking' : 'restoring'} ${block.table}`, block.rules);
      try {
        if (args.options.test === true) {
          checkBlock(family, block.block, block.text, options, backend);
        } else {
          restoreAll(block.text, { ...options, ipv6: family === 6, backend });
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
