// Elements: ADD/DEL/TEST of one element, and the batches of addMany/deleteMany/restore, which are encoded
// whole before anything is sent (a malformed element anywhere leaves the kernel untouched) and then sent
// as few ~60 KiB messages, each element numbered so that a kernel refusal names the failing one.
import { NlaTable } from './attributes.js';
import type { Channel } from './channel.js';
import { Attr, Cmd, DataAttr as A, NLM_F_ACK, NLM_F_EXCL, NLM_F_REQUEST } from './constants.js';
import { encodeEntry, type Entry, type EntryOptions, type EntryWithOptions } from './entry.js';
import { IPSET_ERR, IPSetError } from './errors.js';
import { NetlinkKernelError } from './netlink.js';
import { ADD_OPTIONS, ITEM_OPTIONS, checkOptions, flag } from './options.js';
import { PortEntry, PortRange } from './ports.js';
import { etypeDims, kindOf, setType, type Dim } from './types.js';
import { checkSetName } from './words.js';

export interface AddOptions extends EntryOptions {
  /** true (default): adding an existing element fails. false: like `-exist`, update it instead. */
  exclusive?: boolean;
}

/** A batch of ADD/DEL messages encoded ahead of sending. */
export interface PreparedBatch {
  name: string;
  command: string;
  type?: string;
  msgs: Buffer[];
  items: unknown[];
  lines?: number[];
}

/** Bytes of elements per batched message; the ADT nest length is a u16, keep well below 64 KiB. */
const BATCH_BYTES = 60000;

function describe(e: unknown): string {
  if (Array.isArray(e)) return e.map(String).join(',');
  return String(e);
}

/** The same refusal with the command, set and element it concerns. */
function withContext(e: IPSetError, command: string, setName: string, more: { index?: number; line?: number; entry?: unknown } = {}): IPSetError {
  return new IPSetError(e.errno, { command, setName, ...more }, e.reason);
}

/** The element layout of a set: from `etype`, or from its type (asked from the kernel once, then cached). */
function dimsOf(ch: Channel, name: string, etype: string | undefined): { dims: Dim[]; noProto: boolean; type?: string } {
  if (etype !== undefined) {
    if (typeof etype !== 'string') throw new TypeError('etype must be a string such as "ip" or "net,port"');
    const dims = etypeDims(etype);
    const type = ch.typeCache.get(name);
    return { dims, noProto: type === 'bitmap:port', ...(type && { type }) };
  }
  const type = ch.typeOf(name);
  return { dims: setType(type).dims, noProto: type === 'bitmap:port', type };
}

/** One ADD/DEL/TEST of a single element; retried once if the cached type of the set was stale. */
export function adt(ch: Channel, cmd: number, command: string, name: string, entry: Entry, opts: AddOptions): boolean {
  checkSetName(name);
  checkOptions(opts, ADD_OPTIONS, `${command} options`);
  const excl = cmd !== Cmd.TEST && (opts.exclusive === undefined || flag(opts.exclusive, 'exclusive'));
  for (let attempt = 0; ; attempt++) {
    const cachedType = ch.typeCache.get(name);
    const { dims, noProto, type } = dimsOf(ch, name, opts.etype);
    const { seq, at } = ch.begin(cmd, NLM_F_REQUEST | NLM_F_ACK | (excl ? NLM_F_EXCL : 0));
    const w = ch.w;
    w.str(Attr.SETNAME, name);
    // Another process may have recreated the set with another type since it was cached.
    const staleType = () => {
      if (attempt > 0 || cachedType === undefined || opts.etype !== undefined) return false;
      ch.typeCache.delete(name);
      try {
        return ch.typeOf(name) !== cachedType;
      } catch {
        return false;
      }
    };
    const data = w.beginNest(Attr.DATA);
    try {
      encodeEntry(w, dims, entry, opts, noProto);
    } catch (e) {
      if (staleType()) continue;
      if (e instanceof IPSetError) throw withContext(e, command, name, { entry });
      throw e;
    }
    w.endNest(data);
    w.finishMessage(at);
    ch.sock.send(w.result());
    try {
      ch.sock.collect(seq, false);
      return true;
    } catch (e) {
      if (!(e instanceof NetlinkKernelError)) throw e;
      if (cmd === Cmd.TEST && e.code === IPSET_ERR.EXIST) return false;
      if (staleType()) continue;
      throw ch.kernelError(e, command, name, type);
    }
  }
}

/**
 * Encodes a whole batch before anything is sent, so that a malformed entry anywhere leaves the kernel
 * untouched. `typeName` overrides the set's type (restore knows it from its own create line); `lines` are
 * the restore lines of the items, for error messages.
 */
export function prepareBatch(
  ch: Channel,
  cmd: number,
  name: string,
  entries: Iterable<Entry | EntryWithOptions>,
  opts: AddOptions,
  typeName?: string,
  lines?: number[],
): PreparedBatch {
  checkSetName(name);
  const command = cmd === Cmd.ADD ? 'add' : 'del';
  checkOptions(opts, ADD_OPTIONS, `${command} options`);
  if (entries === null || typeof entries !== 'object' || typeof (entries as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError('entries must be an iterable of entries');
  }
  let defDims: Dim[];
  let noProto: boolean;
  let type: string | undefined = typeName;
  if (typeName !== undefined && opts.etype === undefined) {
    defDims = setType(typeName).dims;
    noProto = typeName === 'bitmap:port';
  } else {
    ({ dims: defDims, noProto, type } = dimsOf(ch, name, opts.etype));
    if (typeName !== undefined) noProto = typeName === 'bitmap:port';
  }
  const exclusive = opts.exclusive === undefined || flag(opts.exclusive, 'exclusive');
  const flags = NLM_F_REQUEST | NLM_F_ACK | (exclusive ? NLM_F_EXCL : 0);
  const baseHasOptions = Object.keys(opts).some((k) => k !== 'exclusive' && k !== 'etype');
  const w = ch.w;
  const msgs: Buffer[] = [];
  const items: (Entry | EntryWithOptions)[] = [];
  let at = 0;
  let adtNest = -1;
  let count = 0;
  const start = () => {
    ({ at } = ch.begin(cmd, flags));
    w.str(Attr.SETNAME, name);
    w.be32(Attr.LINENO, 0);
    adtNest = w.beginNest(Attr.ADT);
    count = 0;
  };
  const finish = () => {
    w.endNest(adtNest);
    w.finishMessage(at);
    msgs.push(w.result(true));
  };
  start();
  for (const item of entries) {
    const index = items.length;
    const isObj = item !== null && typeof item === 'object' && !Array.isArray(item) && !isPort(item);
    let entry: Entry;
    let eopts: EntryOptions;
    let dims = defDims;
    try {
      if (isObj) {
        checkOptions(item, ITEM_OPTIONS, 'an element with options');
        if (!('entry' in item)) throw new TypeError("an element with options needs its 'entry'");
        entry = item.entry;
        // Merge only when both carry options: spreading 100,000 objects costs more than encoding them.
        eopts = baseHasOptions ? { ...opts, ...item } : item;
        if (item.etype !== undefined) dims = etypeDims(item.etype);
      } else {
        entry = item as Entry;
        eopts = opts;
      }
    } catch (e) {
      if (e instanceof Error) e.message = `${lines?.[index] !== undefined ? `line ${lines[index]}` : `entry #${index}`}: ${e.message}`;
      throw e;
    }
    for (;;) {
      const before = w.pos;
      const data = w.beginNest(Attr.DATA);
      try {
        encodeEntry(w, dims, entry, eopts, noProto);
      } catch (e) {
        const line = lines?.[index];
        if (e instanceof IPSetError) throw withContext(e, command, name, { index, ...(line !== undefined && { line }), entry });
        if (e instanceof Error) e.message = `${line !== undefined ? `line ${line}` : `entry #${index}`} (${describe(entry)}): ${e.message}`;
        throw e;
      }
      w.be32(A.CADT_LINENO, index + 1);
      w.endNest(data);
      if (w.pos - adtNest > BATCH_BYTES && count > 0) {
        w.pos = before;
        finish();
        start();
        continue;
      }
      break;
    }
    items.push(item);
    count++;
  }
  if (count > 0) finish();
  return { name, command, ...(type !== undefined && { type }), msgs, items, ...(lines && { lines }) };
}

/** PortEntry / PortRange are entries themselves, not elements with options. */
function isPort(x: object): boolean {
  return x instanceof PortEntry || x instanceof PortRange;
}

/** Sends a prepared batch, message by message, stopping at the first failing element. */
export function runBatch(ch: Channel, p: PreparedBatch): void {
  for (const msg of p.msgs) {
    const seq = ch.sock.nextSeq();
    msg.writeUInt32LE(seq, 8);
    ch.sock.send(msg);
    try {
      ch.sock.collect(seq, false);
    } catch (e) {
      if (!(e instanceof NetlinkKernelError)) throw e;
      // The kernel overwrites the command-level LINENO with the failing element's.
      let failed = -1;
      if (e.echo) {
        const t = new NlaTable(16).parse(e.echo, 20, e.echo.length);
        if (t.has(Attr.LINENO)) failed = e.echo.readUInt32BE(t.offsets[Attr.LINENO]!) - 1;
      }
      const err = ch.kernelError(e, p.command, p.name, p.type);
      if (err instanceof IPSetError && failed >= 0 && failed < p.items.length) {
        const item = p.items[failed];
        const entry = item !== null && typeof item === 'object' && !Array.isArray(item) && 'entry' in item ? item.entry : item;
        const kind = kindOf(p.type);
        throw new IPSetError(err.errno, {
          command: p.command,
          setName: p.name,
          ...(kind && { kind }),
          index: failed,
          ...(p.lines?.[failed] !== undefined && { line: p.lines[failed]! }),
          entry,
        });
      }
      throw err;
    }
  }
}
