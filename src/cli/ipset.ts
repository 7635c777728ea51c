// `iptc ipset list|save|restore`: the ipset CLI's read and bulk commands over iptc/ipset's netlink socket.
import { IPSet, type IPSetInfo } from '../ipset/index.js';
import type { IPSetEntry } from '../ipset/index.js';
import type { Command } from './command.js';
import { HELP, JSON_OUT, PROGRESS, QUIET } from './command.js';
import { count, toJson } from './format.js';
import { readInput } from './input.js';
import { Progress } from './progress.js';

function headerText(info: IPSetInfo): string {
  const h = info.header;
  const parts: string[] = [];
  if (h.family) parts.push(`family ${h.family}`);
  if (h.range) parts.push(`range ${h.range}`);
  if (h.hashsize !== undefined) parts.push(`hashsize ${h.hashsize}`);
  if (h.maxelem !== undefined) parts.push(`maxelem ${h.maxelem}`);
  if (h.netmask !== undefined) parts.push(`netmask ${h.netmask}`);
  if (h.size !== undefined) parts.push(`size ${h.size}`);
  if (h.timeout !== undefined) parts.push(`timeout ${h.timeout}`);
  if (h.counters) parts.push('counters');
  if (h.comment) parts.push('comment');
  if (h.skbinfo) parts.push('skbinfo');
  if (h.forceadd) parts.push('forceadd');
  return parts.join(' ');
}

function entryText(e: IPSetEntry): string {
  let s = e.entry;
  if (e.timeout !== undefined) s += ` timeout ${e.timeout}`;
  if (e.packets !== undefined) s += ` packets ${e.packets} bytes ${e.bytes ?? 0n}`;
  if (e.comment !== undefined) s += ` comment "${e.comment}"`;
  if (e.nomatch) s += ' nomatch';
  return s;
}

// The layout of `ipset list`, so that people and scripts used to it find their way.
function listText(sets: IPSetInfo[], terse: boolean): string {
  return sets
    .map((info) => {
      const lines = [
        `Name: ${info.name}`,
        `Type: ${info.type}`,
        `Revision: ${info.revision}`,
        `Header: ${headerText(info)}`,
        `Size in memory: ${info.header.memsize ?? 0}`,
        `References: ${info.header.references ?? 0}`,
        `Number of entries: ${terse ? (info.header.elements ?? 0) : info.entries.length}`,
      ];
      if (!terse) lines.push('Members:', ...info.entries.map(entryText));
      return `${lines.join('\n')}\n`;
    })
    .join('\n');
}

/** Runs fn with a netlink socket that is closed afterwards, whatever happens. */
function withIPSet<T>(fn: (ipset: IPSet) => T): T {
  const ipset = new IPSet();
  try {
    return fn(ipset);
  } finally {
    ipset.close();
  }
}

const list: Command = {
  name: 'list',
  summary: 'list sets with their entries',
  usage: 'ipset list [--terse | --names] [--json] [SETNAME]',
  description: 'Lists one set or every set, as `ipset list` does; --json prints the structured IPSet.list() result.',
  options: [
    { key: 'terse', long: 'terse', help: 'headers only, no entries' },
    { key: 'names', long: 'names', short: 'n', help: 'set names only' },
    JSON_OUT,
    HELP,
  ],
  run(args) {
    if (args.positionals.length > 1) throw new Error('ipset list takes at most one set name');
    const name = args.positionals[0];
    const terse = args.options.terse === true || args.options.names === true;
    const sets = withIPSet((ipset) =>
      terse ? (name ? [ipset.headers(name)] : ipset.list().map((s) => ({ ...s, entries: [] }))) : ipset.list(name),
    );
    if (args.options.json === true) process.stdout.write(`${toJson(sets)}\n`);
    else if (args.options.names === true) process.stdout.write(sets.map((s) => `${s.name}\n`).join(''));
    else process.stdout.write(listText(sets, terse));
    return 0;
  },
};

const save: Command = {
  name: 'save',
  summary: 'print sets in `ipset save` format',
  usage: 'ipset save [SETNAME]',
  description: 'Prints one set or every set in `ipset save` format (byte for byte), ready for `iptc ipset restore`.',
  options: [HELP],
  run(args) {
    if (args.positionals.length > 1) throw new Error('ipset save takes at most one set name');
    process.stdout.write(withIPSet((ipset) => ipset.save(args.positionals[0])));
    return 0;
  },
};

const restore: Command = {
  name: 'restore',
  summary: 'apply `ipset save` / `ipset restore` text',
  usage: 'ipset restore [--exist] [FILE]',
  description:
    'Applies ipset restore input from FILE or standard input: the whole text is checked first, then ' +
    'applied with adds batched; a failing line stops it, naming the line (earlier lines stay applied, as ' +
    'with `ipset restore`).',
  options: [{ key: 'exist', long: 'exist', help: 'ignore errors for sets and entries that already exist (ipset -exist)' }, PROGRESS, QUIET, HELP],
  run(args) {
    const text = readInput(args.positionals, 'ipset restore');
    const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#')).length;
    const progress = new Progress(args);
    withIPSet((ipset) => {
      progress.step(1, 1, 'ipset restore', lines, 'lines');
      try {
        ipset.restore(text, { exist: args.options.exist === true });
      } catch (e) {
        progress.failed();
        throw e;
      }
      progress.done();
      if (progress.enabled) process.stderr.write(`iptc: ${count(ipset.list().length)} sets now\n`);
    });
    return 0;
  },
};

/** The `ipset` subcommands. */
export const ipsetCommands: Command[] = [list, save, restore];
