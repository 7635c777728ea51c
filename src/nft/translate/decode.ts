// nf_tables expressions -> ipt_entry / ip6t_entry, reading rules as iptables-nft 1.8.9 does
// (iptables/nft-shared.c nft_rule_to_iptables_command_state): a register tracker (meta, payload,
// bitwise, immediate) with cmp and range interpreters, compat blobs kept as they are, native tcp/udp
// merged into one match, native limit/mark/log turned back into their xtables blobs, and a USERDATA
// comment last. Where iptables-nft guesses (a set lookup read as nothing, a comparison it does not
// understand, a field set twice), this reader refuses the rule with NftOpaqueRuleError instead.
// The entry is assembled by an EntryBuilder, straight from the message bytes.
import { NlaTable, readStr } from '../../netlink/attributes.js';
import { NLA_TYPE_MASK } from '../../netlink/constants.js';
import { INV, type EntryLayout } from '../../xtables/entry.js';
import { XT_COMMENT, XT_MARK1, XT_NFLOG, XT_PKTTYPE, XT_RATEINFO, XT_TCP, XT_UDP, type BlobSpec } from '../../xtables/blobs.js';
import type { Family } from '../../xtables/shim.js';
import { NF_ACCEPT, NF_DROP, NFT_GOTO, NFT_JUMP, NFT_REG_VERDICT, NFT_RETURN, NFTA_EXPR } from '../constants.js';
import { NftOpaqueRuleError } from '../errors.js';
import { BITWISE_OP_MASK_XOR, readBitwise, type BitwiseExpr } from '../expr/bitwise.js';
import { CMP_OP, readCmp, type CmpExpr } from '../expr/cmp.js';
import { EXPR, exprKind, type ExprKind } from '../expr/element.js';
import { readImmediate, type ImmediateExpr } from '../expr/immediate.js';
import { LIMIT_TYPE, readLimit, type LimitExpr } from '../expr/limit.js';
import { readLog, type LogExpr } from '../expr/log.js';
import { readXt, type XtExpr } from '../expr/match.js';
import { readLookup, type LookupExpr } from '../expr/lookup.js';
import { readCounter, type CounterExpr } from '../expr/counter.js';
import { META_KEY, readMeta, type MetaExpr } from '../expr/meta.js';
import { PAYLOAD_BASE, readPayload, type PayloadExpr } from '../expr/payload.js';
import { RANGE_OP, readRange, type RangeExpr } from '../expr/range.js';
import { noValue } from '../expr/value.js';
import { ADDRESS_OFFSETS } from './layout.js';
import { copyBytes, EntryBuilder } from './builder.js';
import { PortMatches, type PortSide } from './ports.js';
import { findComment } from './userdata.js';
import { Registers, REG_IMMEDIATE, REG_META, REG_PAYLOAD, type Register } from './registers.js';

/** A rule as iptables sees it: the shape Rule.fromEntry takes (`label`/`standard` as libiptc gives them). */
export interface TranslatedRule {
  entry: Buffer;
  /** For a standard target: ACCEPT, DROP, RETURN, a chain name, or '' (no target). */
  label: string;
  /** Whether the target is a standard one (then `label` says which), rather than a target extension. */
  standard: boolean;
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** A name iptables can hold: a chain must fit the standard target's name field, an extension its own. */
const MAX_NAME = 28;

/** What ends the rule: nothing, a verdict or jump, a compat target, NFLOG (`log`), TRACE. */
const Action = { None: 0, Verdict: 1, Compat: 2, Nflog: 3, Trace: 4 } as const;
type Action = (typeof Action)[keyof typeof Action];

/**
 * Reads rules of one family. Holds scratch state between rules, so one decoder serves a whole dump.
 */
export class RuleDecoder {
  readonly family: Family;
  /** The label of the last rule decodeInPlace() read (see TranslatedRule). */
  label = '';
  /** Whether the last rule decodeInPlace() read has a standard target (see TranslatedRule). */
  standard = false;
  readonly #l: EntryLayout;
  readonly #t = new NlaTable(8);
  readonly #regs = new Registers();
  readonly #ports = new PortMatches();
  readonly #meta: MetaExpr = { key: 0, dreg: -1, sreg: -1 };
  readonly #payload: PayloadExpr = { base: 0, offset: 0, len: 0, dreg: -1, sreg: -1 };
  readonly #cmp: CmpExpr = { sreg: 0, op: 0, data: noValue() };
  readonly #bitwise: BitwiseExpr = { sreg: 0, dreg: 0, len: 0, op: 0, mask: noValue(), xor: noValue(), hasData: false };
  readonly #range: RangeExpr = { sreg: 0, op: 0, from: noValue(), to: noValue() };
  readonly #imm: ImmediateExpr = { dreg: 0, isVerdict: false, code: 0, chain: '', value: noValue() };
  readonly #limit: LimitExpr = { rate: 0n, unit: 0n, burst: 0, type: 0, flags: 0 };
  readonly #log: LogExpr = { group: -1, prefix: null, snaplen: -1, threshold: 0, syslog: false };
  readonly #xt: XtExpr = { nameOff: -1, nameLen: 0, revision: -1, infoOff: -1, infoLen: 0 };
  readonly #lookup: LookupExpr = { set: '', sreg: -1, flags: 0 };
  readonly #counter: CounterExpr = { packetsAt: -1, bytesAt: -1 };
  readonly #b: EntryBuilder;
  /** The entry's buffer (the builder's). */
  readonly #e: Buffer;

  // Per rule.
  #buf: Buffer;
  #action: Action = Action.None;
  /** Verdict: its label and goto; compat target: where NAME, REV and INFO sit in the message. */
  #label = '';
  #goto = false;
  #targetNameOff = 0;
  #targetNameLen = 0;
  #targetRevision = 0;
  #targetInfoOff = 0;
  #targetInfoLen = 0;
  /** Where the counter's PACKETS and BYTES sit in the message; -1 when the rule has none. */
  #counterAt = -1;
  #bytesAt = -1;
  #index = 0;
  #nameOff = -1;
  #nameLen = 0;
  #set = 0;

  constructor(family: Family) {
    this.family = family;
    this.#b = new EntryBuilder(family);
    this.#l = this.#b.l;
    this.#e = this.#b.e;
    this.#buf = this.#e;
  }

  /**
   * Translates the expressions in buf[start, end) (an NFTA_RULE_EXPRESSIONS payload) and the rule's
   * USERDATA (udataOff < 0 when absent) into an entry. Throws NftOpaqueRuleError where the rule has no
   * iptables form that keeps its meaning.
   */
  decode(buf: Buffer, start: number, end: number, udataOff = -1, udataLen = 0): TranslatedRule {
    const size = this.decodeInPlace(buf, start, end, udataOff, udataLen);
    const entry = Buffer.allocUnsafe(size);
    this.#e.copy(entry, 0, 0, size);
    return { entry, label: this.label, standard: this.standard };
  }

  /** The last rule decodeInPlace() read: its entry is `entryBuffer` [0, size). */
  get entryBuffer(): Buffer {
    return this.#e;
  }

  /**
   * As decode(), without copying the entry out: it is left in `entryBuffer` (valid until the next
   * decode) and its size returned; `label` and `standard` say the rest. A dump of thousands of rules is
   * decoded straight into one buffer this way.
   */
  decodeInPlace(buf: Buffer, start: number, end: number, udataOff = -1, udataLen = 0): number {
    this.#reset(buf);
    for (let p = start; p + 4 <= end; ) {
      const len = buf[p]! | (buf[p + 1]! << 8);
      if (len < 4 || p + len > end) this.#refuse('a malformed expression list');
      this.#element(p + 4, p + len);
      p += (len + 3) & ~3;
    }
    if (udataOff >= 0) {
      const comment = findComment(buf, udataOff, udataLen);
      if (comment) copyBytes(buf, comment.off, this.#e, this.#beginMatch(XT_COMMENT, XT_COMMENT.dataSize), comment.len);
    }
    return this.#assemble();
  }

  #reset(buf: Buffer): void {
    this.#buf = buf;
    this.#b.reset();
    this.#action = Action.None;
    this.#counterAt = -1;
    this.#index = -1;
    this.#nameOff = -1;
    this.#set = 0;
    this.#regs.clear();
    this.#ports.clear();
  }

  #refuse(reason: string): never {
    const name = this.#nameOff >= 0 ? readStr(this.#buf, this.#nameOff, this.#nameLen) : undefined;
    throw new NftOpaqueRuleError(reason, name, this.#index >= 0 ? this.#index : undefined);
  }

  /** Fields a rule may set once: a second comparison of the same field has no iptables form. */
  #once(bit: number, what: string): void {
    if (this.#set & bit) this.#refuse(`a second ${what} comparison`);
    this.#set |= bit;
  }

  /** Starts a match blob at the end of the entry: header filled, data zeroed. Returns the data offset. */
  #beginMatch(spec: BlobSpec, dataSize: number): number {
    const data = this.#b.begin(spec, dataSize);
    if (data < 0) this.#refuse('the rule is too large for an iptables entry');
    return data;
  }

  /** One LIST_ELEM: its NAME and DATA found, then interpreted. */
  #element(start: number, end: number): void {
    const buf = this.#buf;
    this.#index++;
    this.#nameOff = -1;
    let dataOff = -1;
    let dataEnd = -1;
    for (let q = start; q + 4 <= end; ) {
      const len = buf[q]! | (buf[q + 1]! << 8);
      if (len < 4 || q + len > end) break;
      const type = (buf[q + 2]! | (buf[q + 3]! << 8)) & NLA_TYPE_MASK;
      if (type === NFTA_EXPR.NAME) {
        this.#nameOff = q + 4;
        this.#nameLen = len - 4;
      } else if (type === NFTA_EXPR.DATA) {
        dataOff = q + 4;
        dataEnd = q + len;
      }
      q += (len + 3) & ~3;
    }
    const kind: ExprKind = this.#nameOff >= 0 ? exprKind(buf, this.#nameOff, this.#nameLen) : EXPR.unknown;
    if (kind === EXPR.unknown) this.#refuse('an expression with no iptables form');
    if (dataOff < 0) this.#refuse('an expression without data');
    // Only a counter may follow the action, and only an action that lets the packet go on (NFLOG,
    // TRACE): after a verdict or a target that may end the rule, it would never count.
    if (this.#action !== Action.None && !(kind === EXPR.counter && (this.#action === Action.Nflog || this.#action === Action.Trace))) {
      this.#refuse('an expression after the verdict or target');
    }
    const t = this.#t.parse(buf, dataOff, dataEnd);
    switch (kind) {
      case EXPR.meta:
        return this.#onMeta(readMeta(buf, t, this.#meta));
      case EXPR.payload: {
        const p = readPayload(buf, t, this.#payload);
        if (p.dreg < 0 || p.sreg >= 0) this.#refuse('a payload write has no iptables form');
        this.#regs.load(p.dreg, REG_PAYLOAD, p.base, p.offset, p.len);
        return;
      }
      case EXPR.bitwise:
        return this.#onBitwise(readBitwise(buf, t, this.#bitwise));
      case EXPR.cmp:
        return this.#onCmp(readCmp(buf, t, this.#cmp));
      case EXPR.range:
        return this.#onRange(readRange(buf, t, this.#range));
      case EXPR.counter: {
        if (this.#counterAt >= 0) this.#refuse('a second counter');
        const c = readCounter(t, this.#counter);
        if (c.packetsAt < 0 || c.bytesAt < 0) this.#refuse('a counter without values');
        this.#counterAt = c.packetsAt;
        this.#bytesAt = c.bytesAt;
        return;
      }
      case EXPR.immediate:
        return this.#onImmediate(readImmediate(buf, t, this.#imm));
      case EXPR.match:
        return this.#onCompatMatch(t);
      case EXPR.target:
        return this.#onCompatTarget(t);
      case EXPR.limit:
        return this.#onLimit(readLimit(buf, t, this.#limit));
      case EXPR.log:
        return this.#onLog(readLog(buf, t, this.#log));
      case EXPR.lookup: {
        const set = readLookup(buf, t, this.#lookup).set;
        return this.#refuse(`a set lookup (@${set}) has no iptables form in an ip/ip6 table (iptables-nft shows the rule without it)`);
      }
    }
  }

  #onMeta(m: MetaExpr): void {
    if (m.sreg >= 0) {
      // `meta set nftrace with reg N` after `immediate reg N 1`: -j TRACE.
      if (m.key !== META_KEY.NFTRACE) this.#refuse('a meta set other than nftrace has no iptables form');
      const r = this.#regs.get(m.sreg);
      if (!r || r.type !== REG_IMMEDIATE || r.immLen < 1) this.#refuse('meta nftrace set from an unknown register');
      if (this.#buf[r.immOff] === 0) this.#refuse('meta nftrace set 0 (clearing the trace) has no iptables form');
      this.#action = Action.Trace;
      return;
    }
    if (m.dreg < 0 || m.key < 0) this.#refuse('a meta expression without register or key');
    this.#regs.load(m.dreg, REG_META, m.key, 0, 0);
  }

  #onBitwise(b: BitwiseExpr): void {
    const r = this.#regs.get(b.sreg);
    if (!r) this.#refuse('a bitwise on an unknown register');
    if (b.op !== BITWISE_OP_MASK_XOR || b.hasData) this.#refuse('a bit shift has no iptables form');
    if (b.mask.off < 0 || b.xor.off < 0 || b.mask.len !== b.len || b.xor.len !== b.len) this.#refuse('a malformed bitwise');
    for (let i = 0; i < b.xor.len; i++) if (this.#buf[b.xor.off + i] !== 0) this.#refuse('a bitwise xor has no iptables form');
    if (r.bitwise) this.#refuse('two bitwise operations on one value');
    this.#regs.mask(b.sreg, b.dreg, b.mask.off, b.mask.len);
  }

  #onCmp(c: CmpExpr): void {
    const r = this.#regs.get(c.sreg);
    if (!r) this.#refuse('a comparison with an unknown register');
    if (c.data.off < 0) this.#refuse('a comparison without data');
    if (r.type === REG_META) return this.#cmpMeta(r, c);
    if (r.type === REG_PAYLOAD) {
      if (r.base === PAYLOAD_BASE.NETWORK) return this.#cmpNetwork(r, c);
      if (r.base === PAYLOAD_BASE.TRANSPORT) return this.#cmpTransport(r, c);
      this.#refuse('a comparison of link-layer or inner headers has no iptables form');
    }
    this.#refuse('a comparison with a constant has no iptables form');
  }

  /** EQ/NEQ as an inversion flag; anything else has no iptables form for this field. */
  #inverted(op: number, what: string): boolean {
    if (op === CMP_OP.EQ) return false;
    if (op === CMP_OP.NEQ) return true;
    return this.#refuse(`an ordering comparison of ${what} has no iptables form`);
  }

  #cmpMeta(r: Register, c: CmpExpr): void {
    const buf = this.#buf;
    const d = c.data;
    const e = this.#e;
    switch (r.key) {
      case META_KEY.L4PROTO:
        if (r.bitwise || d.len !== 1) this.#refuse('a masked or wide protocol comparison');
        return this.#setProtocol(buf[d.off]!, this.#inverted(c.op, 'the protocol'));
      case META_KEY.IIFNAME:
      case META_KEY.OIFNAME: {
        const input = r.key === META_KEY.IIFNAME;
        if (r.bitwise) this.#refuse('a masked interface name');
        this.#once(input ? SET_IN : SET_OUT, 'interface');
        const inv = this.#inverted(c.op, 'an interface name');
        const refused = this.#b.iface(input, buf, d.off, d.len, inv);
        if (refused) this.#refuse(refused);
        return;
      }
      case META_KEY.MARK: {
        if (d.len !== 4) this.#refuse('a mark comparison that is not 32 bits wide');
        const inv = this.#inverted(c.op, 'the mark');
        const data = this.#beginMatch(XT_MARK1, XT_MARK1.dataSize);
        // Host byte order on both sides: the bytes are copied as they are.
        copyBytes(buf, d.off, e, data + XT_MARK1.MARK, 4);
        if (r.bitwise) copyBytes(buf, r.maskOff, e, data + XT_MARK1.MASK, 4);
        else e.writeUInt32LE(0xffffffff, data + XT_MARK1.MASK);
        e[data + XT_MARK1.INVERT] = inv ? 1 : 0;
        return;
      }
      case META_KEY.PKTTYPE: {
        if (r.bitwise || d.len !== 1) this.#refuse('a masked or wide packet type comparison');
        const inv = this.#inverted(c.op, 'the packet type');
        const data = this.#beginMatch(XT_PKTTYPE, XT_PKTTYPE.dataSize);
        e.writeInt32LE(buf[d.off]!, data + XT_PKTTYPE.PKTTYPE);
        e.writeInt32LE(inv ? 1 : 0, data + XT_PKTTYPE.INVERT);
        return;
      }
      default:
        this.#refuse(`meta key ${r.key} has no iptables form`);
    }
  }

  #setProtocol(proto: number, inv: boolean): void {
    this.#once(SET_PROTO, 'protocol');
    const l = this.#l;
    const e = this.#e;
    e.writeUInt16LE(proto, l.proto);
    e[l.flags]! |= l.protoFlag;
    if (inv) e[l.invflags]! |= INV.PROTO;
  }

  #cmpNetwork(r: Register, c: CmpExpr): void {
    const buf = this.#buf;
    const d = c.data;
    const l = this.#l;
    const e = this.#e;
    const addrs = ADDRESS_OFFSETS[this.family];
    if (r.offset === addrs.src || r.offset === addrs.dst) {
      const src = r.offset === addrs.src;
      this.#once(src ? SET_SRC : SET_DST, 'address');
      if (r.len < 1 || r.len > l.addrLen || d.len !== r.len) this.#refuse('an address comparison of an unexpected width');
      if (r.bitwise && r.maskLen !== r.len) this.#refuse('an address mask of an unexpected width');
      const refused = this.#b.address(src, buf, d.off, r.len, r.bitwise ? r.maskOff : -1, this.#inverted(c.op, 'an address'));
      if (refused) this.#refuse(refused);
      return;
    }
    if (this.family === 4 && r.offset === 9 && r.len === 1 && !r.bitwise && d.len === 1) {
      // `ip protocol tcp`: the same as `meta l4proto tcp` in IPv4.
      return this.#setProtocol(buf[d.off]!, this.#inverted(c.op, 'the protocol'));
    }
    if (this.family === 4 && r.offset === 6 && r.len === 2 && r.bitwise && d.len === 2) {
      if (buf.readUInt16BE(r.maskOff) !== 0x1fff || buf.readUInt16BE(d.off) !== 0) this.#refuse('a fragment offset comparison other than -f');
      this.#once(SET_FRAG, 'fragment');
      // A non-zero offset (neq) is -f; a zero one (eq) is `! -f`.
      const fragment = this.#inverted(c.op, 'the fragment offset');
      e[l.flags]! |= l.fragFlag;
      if (!fragment) e[l.invflags]! |= INV.FRAG;
      return;
    }
    this.#refuse(`a comparison of network header bytes ${r.offset}+${r.len} has no iptables form`);
  }

  /** The rule's tcp or udp match, started where the first port comparison stands among the matches. */
  #portMatch(proto: number): PortMatches {
    const ports = this.#ports;
    if (!ports.started) {
      const spec = proto === IPPROTO_TCP ? XT_TCP : XT_UDP;
      ports.start(proto === IPPROTO_TCP, this.#e, this.#beginMatch(spec, spec.dataSize));
    }
    return ports;
  }

  /** Ports and tcp flags (nft_parse_transport), for a rule that says `-p tcp` or `-p udp`. */
  #cmpTransport(r: Register, c: CmpExpr): void {
    const buf = this.#buf;
    const d = c.data;
    const proto = this.#transportProtocol();
    if (d.len !== r.len) this.#refuse('a transport header comparison of an unexpected width');
    if (r.offset === 13 && r.len === 1 && proto === IPPROTO_TCP) {
      const mask = r.bitwise ? buf[r.maskOff]! : 0xff;
      const inv = this.#inverted(c.op, 'tcp flags');
      if (!this.#portMatch(proto).flags(mask, buf[d.off]!, inv)) this.#refuse('a second tcp flags comparison');
      return;
    }
    if (r.bitwise) this.#refuse('a masked port comparison has no iptables form');
    let ok: boolean;
    if (r.offset === 0 && r.len === 4) {
      const inv = this.#inverted(c.op, 'two ports at once');
      const ports = this.#portMatch(proto);
      ok = ports.port('src', CMP_OP.EQ, buf.readUInt16BE(d.off), inv) && ports.port('dst', CMP_OP.EQ, buf.readUInt16BE(d.off + 2), inv);
    } else if ((r.offset === 0 || r.offset === 2) && r.len === 2) {
      const side: PortSide = r.offset === 0 ? 'src' : 'dst';
      const op = c.op === CMP_OP.NEQ ? CMP_OP.EQ : c.op;
      ok = this.#portMatch(proto).port(side, op, buf.readUInt16BE(d.off), c.op === CMP_OP.NEQ);
    } else {
      this.#refuse(`a comparison of transport header bytes ${r.offset}+${r.len} has no iptables form`);
    }
    if (!ok) this.#refuse('port comparisons that do not make one port range');
  }

  #transportProtocol(): number {
    const l = this.#l;
    const proto = this.#set & SET_PROTO ? this.#e.readUInt16LE(l.proto) : 0;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) this.#refuse('a transport header comparison without -p tcp or -p udp');
    if (this.#e[l.invflags]! & INV.PROTO) this.#refuse('a transport header comparison under an inverted protocol');
    return proto;
  }

  #onRange(g: RangeExpr): void {
    const r = this.#regs.get(g.sreg);
    if (!r) this.#refuse('a range on an unknown register');
    if (r.type !== REG_PAYLOAD || r.base !== PAYLOAD_BASE.TRANSPORT || r.bitwise || r.len !== 2 || (r.offset !== 0 && r.offset !== 2)) {
      this.#refuse('a range other than a port range has no iptables form');
    }
    if (g.from.len !== 2 || g.to.len !== 2 || (g.op !== RANGE_OP.EQ && g.op !== RANGE_OP.NEQ)) this.#refuse('a malformed port range');
    const proto = this.#transportProtocol();
    const lo = this.#buf.readUInt16BE(g.from.off);
    const hi = this.#buf.readUInt16BE(g.to.off);
    if (!this.#portMatch(proto).range(r.offset === 0 ? 'src' : 'dst', lo, hi, g.op === RANGE_OP.NEQ)) {
      this.#refuse('port comparisons that do not make one port range');
    }
  }

  #onImmediate(i: ImmediateExpr): void {
    if (!i.isVerdict) {
      if (i.dreg === NFT_REG_VERDICT || i.value.off < 0) this.#refuse('a malformed immediate');
      this.#regs.immediate(i.dreg, i.value.off, i.value.len);
      return;
    }
    if (i.dreg !== NFT_REG_VERDICT) this.#refuse('a verdict outside the verdict register');
    this.#goto = false;
    switch (i.code) {
      case NF_ACCEPT:
        this.#label = 'ACCEPT';
        break;
      case NF_DROP:
        this.#label = 'DROP';
        break;
      case NFT_RETURN:
        this.#label = 'RETURN';
        break;
      case NFT_JUMP:
      case NFT_GOTO:
        if (i.chain === '' || Buffer.byteLength(i.chain) > MAX_NAME) this.#refuse(`a jump to a chain iptables cannot name (\`${i.chain}')`);
        this.#label = i.chain;
        this.#goto = i.code === NFT_GOTO;
        break;
      default:
        this.#refuse(`verdict ${i.code} has no iptables form`);
    }
    this.#action = Action.Verdict;
  }

  /** NAME, REV and INFO of a compat match or target, checked. */
  #compat(t: NlaTable, what: string): XtExpr {
    const x = readXt(this.#buf, t, this.#xt);
    if (x.nameLen === 0 || x.nameLen > MAX_NAME || x.revision < 0 || x.revision > 255 || x.infoOff < 0) {
      this.#refuse(`a malformed compat ${what}`);
    }
    return x;
  }

  /** A compat match: its blob is the xtables blob, header rebuilt around INFO. */
  #onCompatMatch(t: NlaTable): void {
    const x = this.#compat(t, 'match');
    if (this.#b.compat(this.#buf, x.nameOff, x.nameLen, x.revision, x.infoOff, x.infoLen) < 0) {
      this.#refuse('the rule is too large for an iptables entry');
    }
  }

  #onCompatTarget(t: NlaTable): void {
    const x = this.#compat(t, 'target');
    this.#targetNameOff = x.nameOff;
    this.#targetNameLen = x.nameLen;
    this.#targetRevision = x.revision;
    this.#targetInfoOff = x.infoOff;
    this.#targetInfoLen = x.infoLen;
    this.#action = Action.Compat;
  }

  /** A native `limit` as iptables-nft reads it back into xt_rateinfo (nft_parse_limit). */
  #onLimit(g: LimitExpr): void {
    if (g.type !== LIMIT_TYPE.PKTS || g.flags !== 0) this.#refuse('a byte or inverted limit has no iptables form');
    if (g.rate === 0n) this.#refuse('a limit with a zero rate');
    const avg = (BigInt(XT_RATEINFO.SCALE) * g.unit) / g.rate;
    if (avg === 0n || avg > 0xffffffffn) this.#refuse('a limit rate outside what -m limit can hold');
    const data = this.#beginMatch(XT_RATEINFO, XT_RATEINFO.dataSize);
    this.#e.writeUInt32LE(Number(avg), data + XT_RATEINFO.AVG);
    this.#e.writeUInt32LE(g.burst, data + XT_RATEINFO.BURST);
  }

  /** A native `log` with a group is -j NFLOG (nft_parse_log); it is written as the target at the end. */
  #onLog(g: LogExpr): void {
    if (g.group < 0 || g.syslog) this.#refuse('a syslog `log` has no iptables form (use -j LOG)');
    if (g.prefix !== null && Buffer.byteLength(g.prefix) >= XT_NFLOG.NFT_PREFIXLEN) this.#refuse('an NFLOG prefix longer than 127 bytes');
    this.#action = Action.Nflog;
  }

  /** Finishes the entry in the builder's buffer; returns its size, and sets `label` and `standard`. */
  #assemble(): number {
    const b = this.#b;
    const targetAt = b.at;
    let written: number;
    switch (this.#action) {
      case Action.Compat:
        written = b.compat(this.#buf, this.#targetNameOff, this.#targetNameLen, this.#targetRevision, this.#targetInfoOff, this.#targetInfoLen);
        break;
      case Action.Nflog:
        written = b.nflog(this.#log);
        break;
      case Action.Trace:
        written = b.trace();
        break;
      default:
        written = b.standard(this.#action === Action.Verdict ? this.#label : '', this.#action === Action.Verdict && this.#goto);
    }
    if (written < 0) this.#refuse('the rule is too large for an iptables entry');
    this.standard = this.#action === Action.Verdict || this.#action === Action.None;
    this.label = this.#action === Action.Verdict ? this.#label : '';
    return b.finish(targetAt, this.#buf, this.#counterAt, this.#bytesAt);
  }
}

const SET_IN = 1;
const SET_OUT = 2;
const SET_PROTO = 4;
const SET_SRC = 8;
const SET_DST = 16;
const SET_FRAG = 32;
