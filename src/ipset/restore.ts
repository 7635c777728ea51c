// `ipset restore` text: every line is read as the ipset tool reads it (its word splitting, quoting and
// global options), validated and encoded before anything is applied, so that a syntax error changes
// nothing; then the lines are applied in order, with consecutive element lines of one set batched.
import type { Channel } from './channel.js';
import { Cmd } from './constants.js';
import { checkCreate, type CreateOptions } from './create.js';
import type { Entry, EntryWithOptions } from './entry.js';
import { IPSetError } from './errors.js';
import type { IPSet } from './ipset.js';
import { prepareBatch, runBatch, type PreparedBatch } from './elements.js';
import { numberShape, parseBigNumberText, parseNumberText } from './numbers.js';
import { SET_TYPES } from './types.js';
import { C_SPACE, checkNewSetName, isExistOption, isGlobalOption } from './words.js';

/** The tool reads a restore line into a 1024-byte buffer: a longer line becomes two commands there. */
const MAX_LINE_BYTES = 1022;

/**
 * Splits a line into words as ipset restore does: at spaces, tabs and line ends outside quotes; every `"`
 * toggles quoting and is dropped (`a"b c"d` is one word); empty words (`""`) vanish.
 */
export function tokenize(line: string, lineno: number): string[] {
  if (!line.includes('"')) return line.split(/[ \t\r\n]+/).filter((w) => w !== '');
  const words: string[] = [];
  let word = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n')) {
      if (word !== '') words.push(word);
      word = '';
    } else word += ch;
  }
  if (quoted) throw new TypeError(`line ${lineno}: missing close quote`);
  if (word !== '') words.push(word);
  return words;
}

type Op =
  | { kind: 'create'; line: number; name: string; opts: CreateOptions }
  | { kind: 'adt'; cmd: number; line: number; name: string; exist: boolean; item: EntryWithOptions }
  | { kind: 'destroy' | 'flush'; line: number; name?: string }
  | { kind: 'rename' | 'swap'; line: number; a: string; b: string };

/** Reads `key value` / `flag` options after the fixed words of a line; each option at most once. */
function options(words: string[], line: number, onOption: (key: string, value: () => string) => void): void {
  const seen = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const key = words[i]!;
    if (seen.has(key)) throw new TypeError(`line ${line}: option '${key}' given twice`);
    seen.add(key);
    onOption(key, () => {
      const v = words[++i];
      if (v === undefined) throw new TypeError(`line ${line}: ${key} needs a value`);
      return v;
    });
  }
}

function parseCreate(type: string, words: string[], line: number): CreateOptions {
  const o: CreateOptions = { stype: type };
  const n = (key: string, v: string, max = 0xffffffff) => parseNumberText(v, `line ${line}: ${key}`, max);
  options(words, line, (k, v) => {
    switch (k) {
      case 'family': {
        const f = v();
        if (f !== 'inet' && f !== 'inet6') throw new TypeError(`line ${line}: unknown family ${f}`);
        o.family = f;
        break;
      }
      case 'hashsize': o.hashsize = n(k, v()); break;
      case 'maxelem': o.maxelem = n(k, v()); break;
      case 'timeout': o.timeout = n(k, v()); break;
      case 'size': o.size = n(k, v()); break;
      case 'bucketsize': o.bucketsize = n(k, v(), 255); break;
      case 'initval': o.initval = n(k, v()); break;
      case 'markmask': o.markmask = n(k, v()); break;
      case 'netmask': {
        const m = v();
        o.netmask = numberShape(m) === 'none' ? m : n(k, m, 255);
        break;
      }
      case 'bitmask': o.bitmask = v(); break;
      case 'range': o.range = v(); break;
      case 'counters': o.counters = true; break;
      case 'comment': o.comment = true; break;
      case 'skbinfo': o.skbinfo = true; break;
      case 'forceadd': o.forceadd = true; break;
      default:
        throw new TypeError(`line ${line}: unknown create option '${k}'`);
    }
  });
  return o;
}

function parseAdt(words: string[], line: number): EntryWithOptions {
  if (words.length === 0) throw new TypeError(`line ${line}: missing element`);
  const o: EntryWithOptions = { entry: words[0]! };
  const n = (key: string, v: string, max = 0xffffffff) => parseNumberText(v, `line ${line}: ${key}`, max);
  options(words.slice(1), line, (k, v) => {
    switch (k) {
      case 'timeout': o.timeout = n(k, v()); break;
      case 'packets': o.packets = parseBigNumberText(v(), `line ${line}: packets`); break;
      case 'bytes': o.bytes = parseBigNumberText(v(), `line ${line}: bytes`); break;
      case 'comment': o.comment = v(); break;
      case 'skbmark': o.skbmark = v(); break;
      case 'skbprio': o.skbprio = v(); break;
      case 'skbqueue': o.skbqueue = n(k, v(), 0xffff); break;
      case 'nomatch': o.nomatch = true; break;
      case 'wildcard': o.wildcard = true; break;
      case 'before': o.before = v(); break;
      case 'after': o.after = v(); break;
      default:
        throw new TypeError(`line ${line}: unknown element option '${k}'`);
    }
  });
  return o;
}

const COMMANDS: Record<string, 'create' | 'add' | 'del' | 'destroy' | 'flush' | 'rename' | 'swap'> = {
  create: 'create', n: 'create', '-N': 'create',
  add: 'add', a: 'add', '-A': 'add',
  del: 'del', d: 'del', '-D': 'del',
  destroy: 'destroy', x: 'destroy', '-X': 'destroy',
  flush: 'flush', f: 'flush', '-F': 'flush',
  rename: 'rename', e: 'rename', '-E': 'rename',
  swap: 'swap', w: 'swap', '-W': 'swap',
};

function parse(text: string, existDefault: boolean): Op[] {
  if (text.includes('\0')) throw new TypeError('restore text must not contain NUL characters');
  const ops: Op[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const raw = lines[n]!;
    // Checked before comments are skipped: the tool would run the rest of a long comment as a command.
    if (raw.length > MAX_LINE_BYTES / 3 && Buffer.byteLength(raw) > MAX_LINE_BYTES) {
      throw new TypeError(`line ${line} is longer than the ${MAX_LINE_BYTES} bytes ipset restore reads as one line`);
    }
    let start = 0;
    while (start < raw.length && C_SPACE.test(raw[start]!)) start++;
    if (start === raw.length || raw[start] === '#') continue;
    let exist = existDefault;
    const words: string[] = [];
    // Global options are taken out of the line wherever they stand, quoted or not, as the tool does.
    for (const w of tokenize(raw.slice(start), line)) {
      if (isExistOption(w)) exist = true;
      else if (isGlobalOption(w)) throw new TypeError(`line ${line}: the ipset option '${w}' has no meaning in restore text`);
      else words.push(w);
    }
    const [word, ...args] = words;
    const cmd = word !== undefined && Object.hasOwn(COMMANDS, word) ? COMMANDS[word] : undefined;
    const count = (min: number, max: number) => {
      if (args.length < min) throw new TypeError(`line ${line}: '${word}' needs ${min} argument(s)`);
      if (args.length > max) throw new TypeError(`line ${line}: '${word}' takes at most ${max} argument(s), got '${args.slice(max).join(' ')}'`);
    };
    switch (cmd) {
      case 'create':
        count(2, Infinity);
        // An unknown type is a syntax error of the text: found before anything is applied.
        if (!Object.hasOwn(SET_TYPES, args[1]!)) throw new TypeError(`line ${line}: unknown set type '${args[1]}'`);
        ops.push({ kind: 'create', line, name: args[0]!, opts: { ...parseCreate(args[1]!, args.slice(2), line), exclusive: !exist } });
        break;
      case 'add':
      case 'del':
        count(2, Infinity);
        ops.push({ kind: 'adt', cmd: cmd === 'add' ? Cmd.ADD : Cmd.DEL, line, name: args[0]!, exist, item: parseAdt(args.slice(1), line) });
        break;
      case 'destroy':
      case 'flush':
        count(0, 1);
        ops.push({ kind: cmd, line, ...(args[0] !== undefined && { name: args[0] }) });
        break;
      case 'rename':
      case 'swap':
        count(2, 2);
        ops.push({ kind: cmd, line, a: args[0]!, b: args[1]! });
        break;
      default:
        throw new TypeError(`line ${line}: unknown command '${word ?? ''}'`);
    }
  }
  return ops;
}

export function restoreInto(ipset: IPSet, ch: Channel, text: string, existDefault: boolean): void {
  if (typeof text !== 'string') throw new TypeError('restore() needs the text of `ipset save`');
  const ops = parse(text, existDefault);
  // Names and create options are checked up front too: a bad one found half way would leave half a text applied.
  for (const op of ops) {
    try {
      if (op.kind === 'create') checkCreate(ch, op.name, op.opts);
      else if (op.kind === 'rename') checkNewSetName(op.b, 'rename', 'new set name');
    } catch (e) {
      if (e instanceof IPSetError) throw new IPSetError(e.errno, { command: op.kind, setName: e.setName ?? '', line: op.line }, e.reason);
      if (e instanceof Error) e.message = `line ${op.line}: ${e.message}`;
      throw e;
    }
  }
  // Group consecutive element lines of one set and command into one batch, encoded up front.
  const types = new Map<string, string>();
  const steps: (Op | PreparedBatch)[] = [];
  for (let i = 0; i < ops.length; ) {
    const op = ops[i]!;
    if (op.kind === 'create') types.set(op.name, op.opts.stype!);
    if (op.kind === 'rename' || op.kind === 'swap') {
      const ta = types.get(op.a);
      const tb = types.get(op.b);
      types.delete(op.a);
      types.delete(op.b);
      if (op.kind === 'swap' && ta && tb) {
        types.set(op.a, tb);
        types.set(op.b, ta);
      } else if (op.kind === 'rename' && ta) types.set(op.b, ta);
    }
    if (op.kind !== 'adt') {
      steps.push(op);
      i++;
      continue;
    }
    let j = i;
    const items: (Entry | EntryWithOptions)[] = [];
    const lines: number[] = [];
    while (j < ops.length) {
      const o = ops[j]!;
      if (o.kind !== 'adt' || o.name !== op.name || o.cmd !== op.cmd || o.exist !== op.exist) break;
      items.push(o.item);
      lines.push(o.line);
      j++;
    }
    let type = types.get(op.name);
    if (type === undefined) {
      try {
        type = ipset.typeOf(op.name);
      } catch (e) {
        if (e instanceof IPSetError) throw new IPSetError(e.errno, { command: op.cmd === Cmd.ADD ? 'add' : 'del', setName: op.name, line: op.line });
        throw e;
      }
    }
    steps.push(prepareBatch(ch, op.cmd, op.name, items, { exclusive: !op.exist }, type, lines));
    i = j;
  }
  for (const s of steps) {
    if ('msgs' in s) {
      runBatch(ch, s);
      continue;
    }
    try {
      switch (s.kind) {
        case 'create': ipset.create(s.name, s.opts); break;
        case 'destroy': if (s.name === undefined) ipset.destroyAll(); else ipset.destroy(s.name); break;
        case 'flush': if (s.name === undefined) ipset.flushAll(); else ipset.flush(s.name); break;
        case 'rename': ipset.rename(s.a, s.b); break;
        case 'swap': ipset.swap(s.a, s.b); break;
        default: break;
      }
    } catch (e) {
      if (e instanceof IPSetError) {
        const setName = 'name' in s ? s.name : s.kind === 'rename' || s.kind === 'swap' ? s.a : undefined;
        throw new IPSetError(e.errno, { command: e.command ?? s.kind, ...(setName !== undefined && { setName }), line: s.line }, e.reason);
      }
      throw e;
    }
  }
}
