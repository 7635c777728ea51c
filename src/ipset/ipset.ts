// IPSet: the low-level socket to the kernel's ipset subsystem, one method per ipset command (the
// counterpart of pyroute2's IPSet). Every call is one synchronous netlink exchange, except addMany (one
// message per ~60 KiB of elements) and the dumps (as many replies as the kernel needs).
import { maskToPrefix, parseIP } from '../inet/address.js';
import { NlaTable, NlaWriter, readStr } from './attributes.js';
import {
  Attr,
  Cmd,
  CreateFlag,
  DataAttr as A,
  IPADDR_IPV4,
  IPADDR_IPV6,
  IPSET_PROTOCOL,
  ListFlag,
  NFNL_SUBSYS_IPSET,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
} from './constants.js';
import { checkSetName, decodeEntry, encodeEntry, type Entry, type EntryOptions, type EntryWithOptions } from './entry.js';
import { IPSET_ERR, IPSetError } from './errors.js';
import { decodeHeader, type IPSetInfo } from './header.js';
import { NetlinkKernelError, NetlinkSocket, type NlMessage } from './netlink.js';
import { socketFactory, type IPSetOptions } from './netns.js';
import { formatSave, restoreInto } from './save.js';
import { etypeDims, familyName, familyNumber, kindOf, setType, type Dim } from './types.js';

/** Options of `ipset create`. Names follow pyroute2 (`bitmapPortsRange` is `bitmap_ports_range`). */
export interface CreateOptions {
  /** Set type, default 'hash:ip'. */
  stype?: string;
  /** 'inet' (default) or 'inet6'; ignored by bitmap:port and list:set. */
  family?: 'inet' | 'inet6' | 2 | 10;
  /** true (default): fail if the set exists. false: like `-exist`, accept an identical existing set. */
  exclusive?: boolean;
  counters?: boolean;
  comment?: boolean;
  skbinfo?: boolean;
  forceadd?: boolean;
  maxelem?: number;
  hashsize?: number;
  /** Default timeout of entries, in seconds (enables the timeout extension). */
  timeout?: number;
  /** bitmap:port range. */
  bitmapPortsRange?: [number, number];
  /** bitmap:ip / bitmap:ip,mac range ('10.0.0.0/16' or '10.0.0.0-10.0.0.255'); bitmap:port '1000-2000'. */
  range?: string;
  /** list:set size. */
  size?: number;
  /** Prefix length (or dotted mask) that addresses are stored with (hash:ip, hash:ip,port, bitmap:ip). */
  netmask?: number | string;
  /** Arbitrary address mask (hash:ip, hash:ip,port,...; newer kernels). */
  bitmask?: string;
  bucketsize?: number;
  initval?: number;
  markmask?: number;
  /** Type revision; default the highest the kernel supports. */
  revision?: number;
}

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

function u32opt(v: unknown, what: string, min = 0, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`${what} must be an integer ${min}..${max}, got ${String(v)}`);
  return v;
}

export class IPSet {
  private readonly sock: NetlinkSocket;
  private readonly w = new NlaWriter(64 * 1024);
  private readonly typeCache = new Map<string, string>();
  private readonly revisionCache = new Map<string, [number, number]>();

  /**
   * Opens a NETLINK_NETFILTER socket in the calling thread's network namespace, or in `options.netns`
   * (see IPSetOptions).
   */
  constructor(options: IPSetOptions = {}) {
    this.sock = new NetlinkSocket(socketFactory(options));
  }

  get closed(): boolean {
    return this.sock.closed;
  }

  close(): void {
    this.sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private begin(cmd: number, flags: number, family = 2): { seq: number; at: number } {
    const seq = this.sock.nextSeq();
    const w = this.w.reset();
    const at = w.beginMessage((NFNL_SUBSYS_IPSET << 8) | cmd, flags, seq, family);
    w.u8(Attr.PROTOCOL, IPSET_PROTOCOL);
    return { seq, at };
  }

  private kernelError(e: unknown, command: string, setName?: string, typeName?: string): unknown {
    if (!(e instanceof NetlinkKernelError)) return e;
    let kind = kindOf(typeName);
    if (!kind && e.code >= IPSET_ERR.TYPE_SPECIFIC && setName) {
      try {
        kind = kindOf(this.headerQuery(setName).type);
      } catch {
        // the set is gone: leave the meaning ambiguous
      }
    }
    const details = { command, ...(setName !== undefined && { setName }), ...(kind && { kind }) };
    if (e.code === IPSET_ERR.PROTOCOL && (command === 'add' || command === 'del' || command === 'test')) {
      // The kernel says only "protocol error" when an element does not fit the set (wrong family, part missing).
      return new IPSetError(e.code, details, "ipset protocol error: the element does not fit the set's type or family (e.g. an IPv4 address in an inet6 set)");
    }
    return new IPSetError(e.code, details);
  }

  /** Sends the message built so far and waits for its ACK. */
  private exchange(seq: number, at: number, command: string, setName?: string, typeName?: string): void {
    this.w.finishMessage(at);
    this.sock.send(this.w.result());
    try {
      this.sock.collect(seq, false);
    } catch (e) {
      throw this.kernelError(e, command, setName, typeName);
    }
  }

  /** Sends the message built so far and returns the attribute table of the single reply (copied). */
  private query(seq: number, at: number, command: string, setName?: string): { buf: Buffer; t: NlaTable } {
    this.w.finishMessage(at);
    this.sock.send(this.w.result());
    let copy: Buffer | undefined;
    try {
      this.sock.collect(seq, true, (m) => {
        copy = Buffer.from(m.buf.subarray(m.off, m.off + m.len));
      });
    } catch (e) {
      throw this.kernelError(e, command, setName);
    }
    if (!copy) throw new IPSetError(IPSET_ERR.PROTOCOL, { command }, 'the kernel sent no reply');
    return { buf: copy, t: new NlaTable(16).parse(copy, 20, copy.length) };
  }

  private headerQuery(name: string): { type: string; family: number; revision: number } {
    checkSetName(name);
    const { seq, at } = this.begin(Cmd.HEADER, NLM_F_REQUEST);
    this.w.str(Attr.SETNAME, name);
    const { buf, t } = this.query(seq, at, 'header', name);
    const o = t.offsets;
    const type = readStr(buf, o[Attr.TYPENAME]!, t.lengths[Attr.TYPENAME]!);
    this.typeCache.set(name, type);
    return { type, family: buf[o[Attr.FAMILY]!] ?? 0, revision: buf[o[Attr.REVISION]!] ?? 0 };
  }

  /** The type name of a set (cached; the cache is dropped when this socket renames/swaps/destroys it). */
  typeOf(name: string): string {
    return this.typeCache.get(name) ?? this.headerQuery(name).type;
  }

  // ---- commands -------------------------------------------------------------------------------

  /**
   * The kernel's ipset protocol version (7 on current kernels).
   * Equivalent to: `ipset version` (the kernel half of its answer).
   */
  getProtoVersion(): number {
    const { seq, at } = this.begin(Cmd.PROTOCOL, NLM_F_REQUEST);
    const { buf, t } = this.query(seq, at, 'version');
    return buf[t.offsets[Attr.PROTOCOL]!]!;
  }

  /**
   * [min, max] revision of a set type the kernel supports for a family.
   * Equivalent to what `ipset create` asks the kernel before creating (`IPSET_CMD_TYPE`).
   */
  getSupportedRevisions(stype: string, family: 'inet' | 'inet6' | 2 | 10 = 'inet'): [number, number] {
    if (typeof stype !== 'string' || stype.length === 0 || stype.length >= 32) throw new TypeError('stype must be a set type name such as hash:ip');
    const fam = familyNumber(family);
    const key = `${stype}/${fam}`;
    const cached = this.revisionCache.get(key);
    if (cached) return [...cached];
    const { seq, at } = this.begin(Cmd.TYPE, NLM_F_REQUEST, fam);
    this.w.str(Attr.TYPENAME, stype);
    this.w.u8(Attr.FAMILY, fam);
    let r;
    try {
      r = this.query(seq, at, 'type');
    } catch (e) {
      if (e instanceof IPSetError && e.errno === IPSET_ERR.FIND_TYPE) {
        throw new IPSetError(e.errno, { command: 'create' }, `set type '${stype}' is not supported by the kernel`);
      }
      throw e;
    }
    const { buf, t } = r;
    const max = buf[t.offsets[Attr.REVISION]!]!;
    const min = t.has(Attr.REVISION_MIN) ? buf[t.offsets[Attr.REVISION_MIN]!]! : max;
    this.revisionCache.set(key, [min, max]);
    return [min, max];
  }

  /**
   * Creates a set.
   * Equivalent to: `ipset create foo hash:ip family inet timeout 600 counters comment` (`-exist` when
   * `exclusive` is false).
   */
  create(name: string, opts: CreateOptions = {}): void {
    checkSetName(name);
    const stype = opts.stype ?? 'hash:ip';
    const info = setType(stype);
    const unspec = info.families[0] === 'unspec';
    const fam = unspec ? 0 : familyNumber(opts.family, 2);
    if (!unspec && !info.families.includes(familyName(fam) as 'inet')) {
      throw new TypeError(`set type ${stype} does not support family ${familyName(fam)}`);
    }
    const revision = opts.revision ?? this.getSupportedRevisions(stype, fam === 0 ? 2 : (fam as 2 | 10))[1];
    u32opt(revision, 'revision', 0, 255);
    const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (opts.exclusive === false ? 0 : NLM_F_EXCL);
    const { seq, at } = this.begin(Cmd.CREATE, flags, fam === 0 ? 2 : fam);
    const w = this.w;
    w.str(Attr.SETNAME, name);
    w.str(Attr.TYPENAME, stype);
    w.u8(Attr.REVISION, revision);
    w.u8(Attr.FAMILY, fam);
    const data = w.beginNest(Attr.DATA);
    this.encodeCreateData(stype, opts);
    w.endNest(data);
    this.exchange(seq, at, 'create', name, stype);
    this.typeCache.set(name, stype);
  }

  private encodeCreateData(stype: string, o: CreateOptions): void {
    const w = this.w;
    const kind = kindOf(stype);
    if (o.timeout !== undefined) w.be32(A.TIMEOUT, u32opt(o.timeout, 'timeout'));
    let cflags = 0;
    if (o.counters) cflags |= CreateFlag.COUNTERS;
    if (o.comment) cflags |= CreateFlag.COMMENT;
    if (o.forceadd) cflags |= CreateFlag.FORCEADD;
    if (o.skbinfo) cflags |= CreateFlag.SKBINFO;
    if (cflags) w.be32(A.CADT_FLAGS, cflags);
    if (o.hashsize !== undefined) w.be32(A.HASHSIZE, u32opt(o.hashsize, 'hashsize', 1));
    if (o.maxelem !== undefined) w.be32(A.MAXELEM, u32opt(o.maxelem, 'maxelem', 1));
    if (o.bucketsize !== undefined) w.u8(A.BUCKETSIZE, u32opt(o.bucketsize, 'bucketsize', 2, 255));
    if (o.initval !== undefined) w.be32(A.INITVAL, u32opt(o.initval, 'initval'));
    if (o.markmask !== undefined) w.be32(A.MARKMASK, u32opt(o.markmask, 'markmask'));
    if (o.size !== undefined) w.be32(A.SIZE, u32opt(o.size, 'size', 1));
    if (o.netmask !== undefined) {
      let prefix: number;
      if (typeof o.netmask === 'number') prefix = o.netmask;
      else if (/^\d+$/.test(o.netmask)) prefix = Number(o.netmask);
      else {
        const ip = parseIP(o.netmask);
        prefix = ip ? maskToPrefix(ip.bytes) : -1;
        if (prefix < 0) throw new TypeError(`invalid netmask '${o.netmask}'`);
      }
      w.u8(A.NETMASK, u32opt(prefix, 'netmask', 0, 255));
    }
    if (o.bitmask !== undefined) {
      const ip = typeof o.bitmask === 'string' ? parseIP(o.bitmask) : undefined;
      if (!ip) throw new TypeError(`invalid bitmask '${String(o.bitmask)}'`);
      const n = w.beginNest(A.BITMASK);
      w.bytes((ip.family === 4 ? IPADDR_IPV4 : IPADDR_IPV6) | 0x4000, ip.bytes);
      w.endNest(n);
    }
    if (kind === 'bitmap') {
      if (stype === 'bitmap:port') {
        let range = o.bitmapPortsRange;
        if (!range && o.range !== undefined) {
          const m = /^(\d+)-(\d+)$/.exec(String(o.range).trim());
          if (!m) throw new TypeError(`invalid port range '${o.range}' (expected 'from-to')`);
          range = [Number(m[1]), Number(m[2])];
        }
        if (!range) throw new TypeError('bitmap:port needs a port range: bitmapPortsRange: [from, to] or range: "from-to"');
        w.be16(A.PORT, u32opt(range[0], 'port range start', 0, 65535));
        w.be16(A.PORT_TO, u32opt(range[1], 'port range end', 0, 65535));
      } else {
        if (o.range === undefined) throw new TypeError(`${stype} needs a range, e.g. range: '10.0.0.0/16' or '10.0.0.0-10.0.0.255'`);
        this.encodeRange(String(o.range));
      }
    }
  }

  private encodeRange(range: string): void {
    const w = this.w;
    const addr = (type: number, s: string) => {
      const ip = parseIP(s.trim());
      if (!ip || ip.family !== 4) throw new TypeError(`invalid IPv4 address '${s}' in range`);
      const n = w.beginNest(type);
      w.bytes(IPADDR_IPV4 | 0x4000, ip.bytes);
      w.endNest(n);
      return ip;
    };
    if (range.includes('/')) {
      const [a, c] = range.split('/');
      if (!/^\d{1,2}$/.test(c ?? '') || Number(c) > 32) throw new RangeError(`invalid prefix in range '${range}'`);
      addr(A.IP, a!);
      w.u8(A.CIDR, Number(c));
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      addr(A.IP, a!);
      addr(A.IP_TO, b!);
    } else {
      throw new TypeError(`invalid range '${range}' (expected 'a.b.c.d/prefix' or 'from-to')`);
    }
  }

  /**
   * Destroys one set, or every set when no name is given.
   * Equivalent to: `ipset destroy foo` / `ipset destroy`.
   */
  destroy(name?: string): void {
    const { seq, at } = this.begin(Cmd.DESTROY, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL);
    if (name !== undefined) {
      checkSetName(name);
      this.w.str(Attr.SETNAME, name);
    }
    try {
      this.exchange(seq, at, 'destroy', name);
    } finally {
      if (name === undefined) this.typeCache.clear();
      else this.typeCache.delete(name);
    }
  }

  /**
   * Removes every entry of one set, or of every set.
   * Equivalent to: `ipset flush foo` / `ipset flush`.
   */
  flush(name?: string): void {
    const { seq, at } = this.begin(Cmd.FLUSH, NLM_F_REQUEST | NLM_F_ACK);
    if (name !== undefined) {
      checkSetName(name);
      this.w.str(Attr.SETNAME, name);
    }
    this.exchange(seq, at, 'flush', name);
  }

  /**
   * Renames a set (it must not be referenced by a list:set... the kernel decides).
   * Equivalent to: `ipset rename from to`.
   */
  rename(from: string, to: string): void {
    this.twoSets(Cmd.RENAME, 'rename', from, to, 'new set name');
  }

  /**
   * Exchanges the contents (and types) of two sets atomically; rules keep pointing at the names.
   * Equivalent to: `ipset swap a b`.
   */
  swap(a: string, b: string): void {
    this.twoSets(Cmd.SWAP, 'swap', a, b, 'second set name');
  }

  /** A command on two sets (rename, swap): both names' cached types are stale afterwards. */
  private twoSets(cmd: (typeof Cmd)['RENAME' | 'SWAP'], command: string, a: string, b: string, secondWhat: string): void {
    checkSetName(a);
    checkSetName(b, secondWhat);
    const { seq, at } = this.begin(cmd, NLM_F_REQUEST | NLM_F_ACK);
    this.w.str(Attr.SETNAME, a);
    this.w.str(Attr.SETNAME2, b);
    this.typeCache.delete(a);
    this.typeCache.delete(b);
    this.exchange(seq, at, command, a);
  }

  private dims(name: string, etype: string | undefined): { dims: Dim[]; noProto: boolean; type?: string } {
    if (etype !== undefined) {
      if (typeof etype !== 'string') throw new TypeError('etype must be a string such as "ip" or "net,port"');
      const dims = etypeDims(etype);
      const type = this.typeCache.get(name);
      return { dims, noProto: type === 'bitmap:port', ...(type && { type }) };
    }
    const type = this.typeOf(name);
    return { dims: setType(type).dims, noProto: type === 'bitmap:port', type };
  }

  /** One ADD/DEL/TEST of a single element; retried once if the cached type of the set was stale. */
  private adt(cmd: number, command: string, name: string, entry: Entry, opts: AddOptions, excl: boolean): boolean {
    checkSetName(name);
    for (let attempt = 0; ; attempt++) {
      const cachedType = this.typeCache.get(name);
      const { dims, noProto, type } = this.dims(name, opts.etype);
      const { seq, at } = this.begin(cmd, NLM_F_REQUEST | NLM_F_ACK | (excl ? NLM_F_EXCL : 0));
      const w = this.w;
      w.str(Attr.SETNAME, name);
      // Another process may have recreated the set with another type since it was cached.
      const staleType = () => {
        if (attempt > 0 || cachedType === undefined || opts.etype !== undefined) return false;
        this.typeCache.delete(name);
        try {
          return this.typeOf(name) !== cachedType;
        } catch {
          return false;
        }
      };
      const data = w.beginNest(Attr.DATA);
      try {
        encodeEntry(w, dims, entry, opts, noProto);
      } catch (e) {
        if (staleType()) continue;
        throw e;
      }
      w.endNest(data);
      w.finishMessage(at);
      this.sock.send(w.result());
      try {
        this.sock.collect(seq, false);
        return true;
      } catch (e) {
        if (!(e instanceof NetlinkKernelError)) throw e;
        if (cmd === Cmd.TEST && e.code === IPSET_ERR.EXIST) return false;
        if (staleType()) continue;
        throw this.kernelError(e, command, name, type);
      }
    }
  }

  /**
   * Adds one element. `entry` is the CLI's element text or its parts; options are its extensions.
   * Equivalent to: `ipset add foo 10.0.0.1 timeout 30 comment "x"` (`-exist` when `exclusive` is false).
   */
  add(name: string, entry: Entry, opts: AddOptions = {}): void {
    this.adt(Cmd.ADD, 'add', name, entry, opts, opts.exclusive !== false);
  }

  /**
   * Deletes one element.
   * Equivalent to: `ipset del foo 10.0.0.1` (`-exist` when `exclusive` is false: no error if absent).
   */
  delete(name: string, entry: Entry, opts: AddOptions = {}): void {
    this.adt(Cmd.DEL, 'del', name, entry, opts, opts.exclusive !== false);
  }

  /** Alias of delete() (pyroute2 has `delete`, the CLI `del`). */
  del(name: string, entry: Entry, opts: AddOptions = {}): void {
    this.delete(name, entry, opts);
  }

  /**
   * Whether an element is in the set (for hash:net, whether an address is covered, honouring nomatch).
   * Equivalent to: `ipset test foo 10.0.0.1` (exit status 0 = true).
   */
  test(name: string, entry: Entry, opts: EntryOptions = {}): boolean {
    return this.adt(Cmd.TEST, 'test', name, entry, opts, false);
  }

  /**
   * Adds many elements in as few messages as possible, like `ipset restore` does. Elements are applied
   * in order; on the first failure the earlier ones stay added and the IPSetError names the failing
   * entry (`index`, `entry`). Each item is an entry or `{ entry, ...options }`.
   * Equivalent to: `ipset restore` of `add foo ...` lines (with `-exist` when `exclusive` is false).
   */
  addMany(name: string, entries: Iterable<Entry | EntryWithOptions>, opts: AddOptions = {}): void {
    this.runBatch(this.prepareBatch(Cmd.ADD, name, entries, opts));
  }

  /** Deletes many elements, batched like addMany(). Equivalent to: `ipset restore` of `del` lines. */
  deleteMany(name: string, entries: Iterable<Entry | EntryWithOptions>, opts: AddOptions = {}): void {
    this.runBatch(this.prepareBatch(Cmd.DEL, name, entries, opts));
  }

  /**
   * Encodes a whole batch before anything is sent, so that a malformed entry anywhere leaves the kernel
   * untouched. `typeName` overrides the set's type (restore knows it from its own create line).
   * @internal
   */
  prepareBatch(
    cmd: number,
    name: string,
    entries: Iterable<Entry | EntryWithOptions>,
    opts: AddOptions,
    typeName?: string,
    lines?: number[],
  ): PreparedBatch {
    checkSetName(name);
    const command = cmd === Cmd.ADD ? 'add' : 'del';
    let defDims: Dim[];
    let noProto: boolean;
    let type: string | undefined = typeName;
    if (typeName !== undefined && opts.etype === undefined) {
      defDims = setType(typeName).dims;
      noProto = typeName === 'bitmap:port';
    } else {
      ({ dims: defDims, noProto, type } = this.dims(name, opts.etype));
      if (typeName !== undefined) noProto = typeName === 'bitmap:port';
    }
    const flags = NLM_F_REQUEST | NLM_F_ACK | (opts.exclusive !== false ? NLM_F_EXCL : 0);
    const baseHasOptions = Object.keys(opts).some((k) => k !== 'exclusive' && k !== 'etype' && (opts as Record<string, unknown>)[k] !== undefined);
    const w = this.w;
    const msgs: Buffer[] = [];
    const items: (Entry | EntryWithOptions)[] = [];
    let at = 0;
    let adt = -1;
    let count = 0;
    const start = () => {
      ({ at } = this.begin(cmd, flags));
      w.str(Attr.SETNAME, name);
      w.be32(Attr.LINENO, 0);
      adt = w.beginNest(Attr.ADT);
      count = 0;
    };
    const finish = () => {
      w.endNest(adt);
      w.finishMessage(at);
      msgs.push(w.result(true));
    };
    start();
    for (const item of entries) {
      const index = items.length;
      const isObj = item !== null && typeof item === 'object' && !Array.isArray(item) && 'entry' in item;
      // Merge only when both carry options: spreading 100,000 objects costs more than encoding them.
      const eopts: EntryOptions = isObj ? (baseHasOptions ? { ...opts, ...(item as EntryWithOptions) } : (item as EntryWithOptions)) : opts;
      const entry = isObj ? (item as EntryWithOptions).entry : (item as Entry);
      const dims = isObj && (item as EntryWithOptions).etype ? etypeDims((item as EntryWithOptions).etype!) : defDims;
      for (;;) {
        const before = w.pos;
        const data = w.beginNest(Attr.DATA);
        try {
          encodeEntry(w, dims, entry, eopts, noProto);
        } catch (e) {
          if (e instanceof Error) {
            const where = lines?.[index] !== undefined ? `line ${lines[index]}` : `entry #${index}`;
            e.message = `${where} (${describe(entry)}): ${e.message}`;
          }
          throw e;
        }
        w.be32(A.CADT_LINENO, index + 1);
        w.endNest(data);
        if (w.pos - adt > BATCH_BYTES && count > 0) {
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

  /** Sends a prepared batch, message by message, stopping at the first failing element. @internal */
  runBatch(p: PreparedBatch): void {
    for (const msg of p.msgs) {
      const seq = this.sock.nextSeq();
      msg.writeUInt32LE(seq, 8);
      this.sock.send(msg);
      try {
        this.sock.collect(seq, false);
      } catch (e) {
        if (!(e instanceof NetlinkKernelError)) throw e;
        // The kernel overwrites the command-level LINENO with the failing element's.
        let failed = -1;
        if (e.echo) {
          const t = new NlaTable(16).parse(e.echo, 20, e.echo.length);
          if (t.has(Attr.LINENO)) failed = e.echo.readUInt32BE(t.offsets[Attr.LINENO]!) - 1;
        }
        const err = this.kernelError(e, p.command, p.name, p.type);
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

  // ---- dumps ----------------------------------------------------------------------------------

  private dump(cmd: number, name: string | undefined, listFlags: number, command: string): IPSetInfo[] {
    const { seq, at } = this.begin(cmd, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
    if (name !== undefined) {
      checkSetName(name);
      this.w.str(Attr.SETNAME, name);
    }
    if (listFlags) this.w.be32(Attr.FLAGS, listFlags);
    this.w.finishMessage(at);
    this.sock.send(this.w.result());
    const sets: IPSetInfo[] = [];
    const byName = new Map<string, IPSetInfo>();
    const top = new NlaTable(16);
    const el = new NlaTable(32);
    const onMessage = (m: NlMessage) => {
      const buf = m.buf;
      const end = m.off + m.len;
      top.parse(buf, m.off + 20, end);
      const o = top.offsets;
      if (o[Attr.SETNAME]! < 0) return;
      const setName = readStr(buf, o[Attr.SETNAME]!, top.lengths[Attr.SETNAME]!);
      let info = byName.get(setName);
      if (!info || o[Attr.TYPENAME]! >= 0) {
        const family = o[Attr.FAMILY]! >= 0 ? buf[o[Attr.FAMILY]!]! : 0;
        const type = o[Attr.TYPENAME]! >= 0 ? readStr(buf, o[Attr.TYPENAME]!, top.lengths[Attr.TYPENAME]!) : '';
        info = {
          name: setName,
          type,
          family: familyName(family),
          revision: o[Attr.REVISION]! >= 0 ? buf[o[Attr.REVISION]!]! : 0,
          header: o[Attr.DATA]! >= 0
            ? decodeHeader(buf, o[Attr.DATA]!, o[Attr.DATA]! + top.lengths[Attr.DATA]!, family)
            : { counters: false, comment: false, skbinfo: false, forceadd: false },
          entries: [],
        };
        if (o[Attr.INDEX]! >= 0) info.index = buf.readUInt16BE(o[Attr.INDEX]!);
        if (type) this.typeCache.set(setName, type);
        byName.set(setName, info);
        sets.push(info);
      }
      if (o[Attr.ADT]! >= 0) {
        const entries = info.entries;
        let p = o[Attr.ADT]!;
        const adtEnd = p + top.lengths[Attr.ADT]!;
        while (p + 4 <= adtEnd) {
          const len = buf[p]! | (buf[p + 1]! << 8);
          if (len < 4) break;
          el.parse(buf, p + 4, p + len);
          entries.push(decodeEntry(buf, el));
          p += (len + 3) & ~3;
        }
      }
    };
    try {
      this.sock.collect(seq, false, onMessage);
    } catch (e) {
      throw this.kernelError(e, command, name);
    }
    return sets;
  }

  /**
   * Every set (or one) with its header and all its entries, reading every page of the dump.
   * Equivalent to: `ipset list` / `ipset list foo`.
   */
  list(name?: string): IPSetInfo[] {
    return this.dump(Cmd.LIST, name, 0, 'list');
  }

  /**
   * One set's identity and header (all create options, sizes, references), without entries.
   * Equivalent to: `ipset list -terse foo`.
   */
  headers(name: string): IPSetInfo {
    checkSetName(name);
    const sets = this.dump(Cmd.LIST, name, ListFlag.HEADER, 'list');
    const info = sets.find((s) => s.name === name);
    if (!info) throw new IPSetError(2, { command: 'list', setName: name });
    return info;
  }

  /** Every set's identity and header, without entries. Equivalent to: `ipset list -terse`. */
  listHeaders(): IPSetInfo[] {
    return this.dump(Cmd.LIST, undefined, ListFlag.HEADER, 'list');
  }

  /** Names of all sets. Equivalent to: `ipset list -name`. */
  listNames(): string[] {
    return this.dump(Cmd.LIST, undefined, ListFlag.SETNAME, 'list').map((s) => s.name);
  }

  /**
   * The kernel index of a set (what iptables `set` rules store).
   * Equivalent to the `IPSET_CMD_GET_BYNAME` request (no CLI command).
   */
  getSetByName(name: string): number {
    checkSetName(name);
    const { seq, at } = this.begin(Cmd.GET_BYNAME, NLM_F_REQUEST);
    this.w.str(Attr.SETNAME, name);
    const { buf, t } = this.query(seq, at, 'get_byname', name);
    return buf.readUInt16BE(t.offsets[Attr.INDEX]!);
  }

  /** The name of the set at a kernel index. Equivalent to the `IPSET_CMD_GET_BYINDEX` request. */
  getSetByIndex(index: number): string {
    u32opt(index, 'set index', 0, 0xfffe);
    const { seq, at } = this.begin(Cmd.GET_BYINDEX, NLM_F_REQUEST);
    this.w.be16(Attr.INDEX, index);
    const { buf, t } = this.query(seq, at, 'get_byindex');
    return readStr(buf, t.offsets[Attr.SETNAME]!, t.lengths[Attr.SETNAME]!);
  }

  /**
   * The sets (or one) in `ipset save` format, byte for byte.
   * Equivalent to: `ipset save` / `ipset save foo`.
   */
  save(name?: string): string {
    return formatSave(this.dump(Cmd.SAVE, name, 0, 'save'));
  }

  /**
   * Applies `ipset save`/`ipset restore` text (create/add/del/destroy/flush/rename/swap lines), adds
   * batched. Stops at the first failing line (earlier lines stay applied, as with `ipset restore`);
   * the IPSetError carries the 1-based `line`. `exist: true` is the CLI's `-exist`.
   * Equivalent to: `ipset restore [-exist] < text`.
   */
  restore(text: string, opts: { exist?: boolean } = {}): void {
    restoreInto(this, text, opts);
  }
}

function describe(e: unknown): string {
  if (Array.isArray(e)) return e.map(String).join(',');
  return String(e);
}

