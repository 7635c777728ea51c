// The ipset CLI's save/restore text. save() prints what `ipset save` prints; restore() reads the same
// lines (and the other restore commands), validates and encodes the whole text first so that a syntax
// error changes nothing, then applies it with adds batched per set.
import { Cmd } from './constants.js';
import { formatEntryLine, type Entry, type EntryWithOptions } from './entry.js';
import { IPSetError } from './errors.js';
import { formatHeader, type IPSetInfo } from './header.js';
import type { CreateOptions, IPSet, PreparedBatch } from './ipset.js';
import { SET_TYPES } from './types.js';

export function formatSave(sets: IPSetInfo[]): string {
  const out: string[] = [];
  for (const s of sets) {
    const h = formatHeader(s.type, s.header);
    out.push(h ? `create ${s.name} ${s.type} ${h}\n` : `create ${s.name} ${s.type}\n`);
    const prefix = `add ${s.name} `;
    for (const e of s.entries) out.push(prefix + formatEntryLine(e) + '\n');
  }
  return out.join('');
}

/** Splits a line into words; double quotes group words (comments), as the ipset CLI does. */
export function tokenize(line: string, lineno: number): string[] {
  if (!line.includes('"')) return line.split(/\s+/).filter((w) => w !== '');
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    if (line[i] === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new TypeError(`line ${lineno}: unterminated quoted string`);
      words.push(line.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < line.length && !/\s/.test(line[j]!)) j++;
      words.push(line.slice(i, j));
      i = j;
    }
  }
  return words;
}

type Op =
  | { kind: 'create'; line: number; name: string; opts: CreateOptions }
  | { kind: 'adt'; cmd: number; line: number; name: string; exist: boolean; item: EntryWithOptions }
  | { kind: 'destroy' | 'flush'; line: number; name?: string }
  | { kind: 'rename' | 'swap'; line: number; a: string; b: string };

function num(v: string | undefined, what: string, line: number): number {
  if (v === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new TypeError(`line ${line}: ${what} needs a number, got ${v ?? 'nothing'}`);
  return Number(v);
}

function parseCreate(words: string[], line: number): CreateOptions {
  const o: CreateOptions = { stype: words[0]! };
  for (let i = 1; i < words.length; i++) {
    const k = words[i]!;
    const v = () => words[++i];
    switch (k) {
      case 'family': {
        const f = v();
        if (f !== 'inet' && f !== 'inet6') throw new TypeError(`line ${line}: unknown family ${f ?? ''}`);
        o.family = f;
        break;
      }
      case 'hashsize': o.hashsize = num(v(), k, line); break;
      case 'maxelem': o.maxelem = num(v(), k, line); break;
      case 'timeout': o.timeout = num(v(), k, line); break;
      case 'size': o.size = num(v(), k, line); break;
      case 'bucketsize': o.bucketsize = num(v(), k, line); break;
      case 'initval': o.initval = num(v(), k, line); break;
      case 'markmask': o.markmask = num(v(), k, line); break;
      case 'netmask': {
        const m = v();
        if (m === undefined) throw new TypeError(`line ${line}: netmask needs a value`);
        o.netmask = /^\d+$/.test(m) ? Number(m) : m;
        break;
      }
      case 'bitmask': o.bitmask = v()!; break;
      case 'range': o.range = v()!; break;
      case 'counters': o.counters = true; break;
      case 'comment': o.comment = true; break;
      case 'skbinfo': o.skbinfo = true; break;
      case 'forceadd': o.forceadd = true; break;
      default:
        throw new TypeError(`line ${line}: unknown create option '${k}'`);
    }
    if (words[i] === undefined) throw new TypeError(`line ${line}: ${k} needs a value`);
  }
  return o;
}

function parseAdt(words: string[], line: number): EntryWithOptions {
  if (words.length === 0) throw new TypeError(`line ${line}: missing element`);
  const o: EntryWithOptions = { entry: words[0]! };
  for (let i = 1; i < words.length; i++) {
    const k = words[i]!;
    const v = () => {
      const x = words[++i];
      if (x === undefined) throw new TypeError(`line ${line}: ${k} needs a value`);
      return x;
    };
    switch (k) {
      case 'timeout': o.timeout = num(v(), k, line); break;
      case 'packets': o.packets = BigInt(num(v(), k, line)); break;
      case 'bytes': o.bytes = BigInt(num(v(), k, line)); break;
      case 'comment': o.comment = v(); break;
      case 'skbmark': o.skbmark = v(); break;
      case 'skbprio': o.skbprio = v(); break;
      case 'skbqueue': o.skbqueue = num(v(), k, line); break;
      case 'nomatch': o.nomatch = true; break;
      case 'wildcard': o.wildcard = true; break;
      case 'before': o.before = v(); break;
      case 'after': o.after = v(); break;
      default:
        throw new TypeError(`line ${line}: unknown element option '${k}'`);
    }
  }
  return o;
}

function parse(text: string, existDefault: boolean): Op[] {
  const ops: Op[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const raw = lines[n]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    let words = tokenize(raw, line);
    let exist = existDefault;
    if (words.some((w) => w === '-exist' || w === '-!')) {
      exist = true;
      words = words.filter((w) => w !== '-exist' && w !== '-!');
    }
    const [cmd, ...args] = words;
    const need = (k: number) => {
      if (args.length < k) throw new TypeError(`line ${line}: '${cmd}' needs ${k} argument(s)`);
    };
    switch (cmd) {
      case 'create':
      case 'n':
      case '-N':
        need(2);
        // An unknown type is a syntax error of the text: found before anything is applied.
        if (!SET_TYPES[args[1]!]) throw new TypeError(`line ${line}: unknown set type '${args[1]}'`);
        ops.push({ kind: 'create', line, name: args[0]!, opts: { ...parseCreate(args.slice(1), line), exclusive: !exist } });
        break;
      case 'add':
      case 'a':
      case '-A':
      case 'del':
      case 'd':
      case '-D':
        need(2);
        ops.push({ kind: 'adt', cmd: cmd.toLowerCase().includes('a') ? Cmd.ADD : Cmd.DEL, line, name: args[0]!, exist, item: parseAdt(args.slice(1), line) });
        break;
      case 'destroy':
      case 'x':
      case '-X':
      case 'flush':
      case 'f':
      case '-F':
        ops.push({ kind: /^(destroy|x|-X)$/.test(cmd) ? 'destroy' : 'flush', line, ...(args[0] !== undefined && { name: args[0] }) });
        break;
      case 'rename':
      case 'e':
      case '-E':
      case 'swap':
      case 'w':
      case '-W':
        need(2);
        ops.push({ kind: /^(rename|e|-E)$/.test(cmd) ? 'rename' : 'swap', line, a: args[0]!, b: args[1]! });
        break;
      default:
        throw new TypeError(`line ${line}: unknown command '${cmd ?? ''}'`);
    }
  }
  return ops;
}

export function restoreInto(ipset: IPSet, text: string, opts: { exist?: boolean }): void {
  if (typeof text !== 'string') throw new TypeError('restore() needs the text of `ipset save`');
  const ops = parse(text, opts.exist === true);
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
    steps.push(ipset.prepareBatch(op.cmd, op.name, items, { exclusive: !op.exist }, type, lines));
    i = j;
  }
  for (const s of steps) {
    if ('msgs' in s) {
      ipset.runBatch(s);
      continue;
    }
    try {
      switch (s.kind) {
        case 'create': ipset.create(s.name, s.opts); break;
        case 'destroy': ipset.destroy(s.name); break;
        case 'flush': ipset.flush(s.name); break;
        case 'rename': ipset.rename(s.a, s.b); break;
        case 'swap': ipset.swap(s.a, s.b); break;
        default: break;
      }
    } catch (e) {
      if (e instanceof IPSetError) {
        const setName = 'name' in s ? s.name : s.kind === 'rename' || s.kind === 'swap' ? s.a : undefined;
        throw new IPSetError(e.errno, { command: e.command ?? s.kind, ...(setName !== undefined && { setName }), line: s.line });
      }
      throw e;
    }
  }
}
