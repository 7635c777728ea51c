// `iptc ipset list|save|restore`: the ipset CLI's read and bulk commands over iptc/ipset's netlink socket.
import { IPSet, type IPSetInfo } from '../ipset/index.js';
import type { IPSetEntry } from '../ipset/index.js';
import type { Command } from './command.js';
import { HELP, JSON_OUT, PROGRESS, QUIET } from './command.js';
import { count, toJson } from './format.js';
import { readInput } from './input.js';
import { Progress } from './progress.js';
import { OutputClosed, writeOut } from './stream-out.js';

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
function setHeadText(info: IPSetInfo, entries: number): string {
  return [
    `Name: ${info.name}`,
    `Type: ${info.type}`,
    `Revision: ${info.revision}`,
    `Header: ${headerText(info)}`,
    `Size in memory: ${info.header.memsize ?? 0}`,
    `References: ${info.header.references ?? 0}`,
    `Number of entries: ${entries}`,
  ].join('\n');
}

function terseText(sets: IPSetInfo[]): string {
  return sets.map((info) => `${setHeadText(info, info.header.elements ?? 0)}\n`).join('\n');
}

/**
 * `ipset list` streamed to `out`: each set's head, then its members as the kernel sends them. The head
 * gives the number of entries the kernel counts; a kernel that does not say has the set's members held
 * until they are all counted.
 */
function listStreamed(ipset: IPSet, name: string | undefined, out: (text: string) => void): void {
  let first = true;
  let held: { info: IPSetInfo; lines: string[] } | null = null;
  const flush = () => {
    if (!held) return;
    out(`${setHeadText(held.info, held.lines.length)}\nMembers:\n${held.lines.join('')}`);
    held = null;
  };
  ipset.listEach(name, {
    set(info) {
      flush();
      out(first ? '' : '\n');
      first = false;
      if (info.header.elements === undefined) held = { info, lines: [] };
      else out(`${setHeadText(info, info.header.elements)}\nMembers:\n`);
    },
    entries(_info, entries) {
      let text = '';
      for (const e of entries) text += `${entryText(e)}\n`;
      if (held) held.lines.push(text);
      else out(text);
    },
  });
  flush();
}

const ENTRIES_MARK = '\u0000entries\u0000';

/**
 * `IPSet.list()` as --json prints it, streamed: the same text as toJson of the whole list, each set
 * printed around its entries, which come a page at a time.
 */
function listJsonStreamed(ipset: IPSet, name: string | undefined, out: (text: string) => void): void {
  let sets = 0;
  let after = '';
  let entries = 0;
  ipset.listEach(name, {
    set(info) {
      out(entries > 0 ? `\n    ]${after}` : after.length > 0 ? `[]${after}` : '');
      // Printed as toJson prints it inside the top-level array, the entries left to come.
      const text = toJson({ ...info, entries: ENTRIES_MARK })
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n');
      const at = text.indexOf(JSON.stringify(ENTRIES_MARK));
      out(`${sets === 0 ? '[\n' : ',\n'}${text.slice(0, at)}`);
      after = text.slice(at + JSON.stringify(ENTRIES_MARK).length);
      entries = 0;
      sets++;
    },
    entries(_info, page) {
      if (page.length === 0) return;
      // One toJson per page: its elements, each line indented to the depth of a set's entries.
      const json = toJson(page);
      const body = json.slice(2, -2).replace(/\n/g, '\n    ');
      out(`${entries === 0 ? '[\n' : ',\n'}    ${body}`);
      entries += page.length;
    },
  });
  if (sets === 0) out('[]\n');
  else out(`${entries > 0 ? '\n    ]' : '[]'}${after}\n]\n`);
}

/** Runs a command that writes with writeOut: 0 when done, or when the reader went away first. */
function streamed(fn: () => void): number {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof OutputClosed)) throw e;
  }
  return 0;
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
    const out = (text: string) => {
      if (text !== '') writeOut(text);
    };
    return streamed(() =>
      withIPSet((ipset) => {
        if (!terse) {
          // Streamed: a set of millions of entries is printed page by page, never held whole.
          if (args.options.json === true) listJsonStreamed(ipset, name, out);
          else listStreamed(ipset, name, out);
          return;
        }
        const sets = name ? [ipset.headers(name)] : ipset.listHeaders();
        if (args.options.json === true) out(`${toJson(sets)}\n`);
        else if (args.options.names === true) out(sets.map((s) => `${s.name}\n`).join(''));
        else out(terseText(sets));
      }),
    );
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
    return streamed(() => withIPSet((ipset) => ipset.saveTo(writeOut, args.positionals[0])));
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
