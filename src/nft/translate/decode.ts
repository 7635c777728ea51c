// nf_tables expressions -> ipt_entry / ip6t_entry, reading rules as iptables-nft 1.8.9 does
// (iptables/nft-shared.c nft_rule_to_iptables_command_state): a register tracker (meta, payload,
// bitwise, immediate) with cmp and range interpreters, compat blobs kept as they are, native tcp/udp
// merged into one match, native limit/mark/log turned back into their xtables blobs, and a USERDATA
// comment last. Where iptables-nft guesses (a set lookup read as nothing, a comparison it does not
// understand, a field set twice), this reader refuses the rule with NftOpaqueRuleError instead.
import { NlaTable, readStr } from '../../netlink/attributes.js';
import { entryLayout, EXTENSION_HEADER, IFNAMSIZ, INV, standardTarget, type EntryLayout } from '../../xtables/entry.js';
import { extensionBlob, portMatchBlob, XT_MARK1, XT_NFLOG, XT_PKTTYPE, XT_RATEINFO, XT_TRACE } from '../../xtables/blobs.js';
import type { Family } from '../../xtables/shim.js';
import { NF_ACCEPT, NF_DROP, NFT_GOTO, NFT_JUMP, NFT_REG_VERDICT, NFT_RETURN } from '../constants.js';
import { NftOpaqueRuleError } from '../errors.js';
import { BITWISE_OP_MASK_XOR, readBitwise, type BitwiseExpr } from '../expr/bitwise.js';
import { CMP_OP, readCmp, type CmpExpr } from '../expr/cmp.js';
import { readCounter, type CounterExpr } from '../expr/counter.js';
import { EXPR, exprName, walkExprs, type ExprSpan } from '../expr/element.js';
import { readImmediate, type ImmediateExpr } from '../expr/immediate.js';
import { LIMIT_TYPE, readLimit, type LimitExpr } from '../expr/limit.js';
import { readLog, type LogExpr } from '../expr/log.js';
import { readXt, type XtExpr } from '../expr/match.js';
import { META_KEY, readMeta, type MetaExpr } from '../expr/meta.js';
import { PAYLOAD_BASE, readPayload, type PayloadExpr } from '../expr/payload.js';
import { RANGE_OP, readRange, type RangeExpr } from '../expr/range.js';
import { noValue } from '../expr/value.js';
import { ADDRESS_OFFSETS } from './layout.js';
import { PortMatches } from './ports.js';
import { readComment } from './userdata.js';
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
/** A chain name iptables can hold: it must fit the standard target's name field. */
const MAX_CHAIN_NAME = 28;

type Action =
  | { kind: 'none' }
  | { kind: 'verdict'; label: string; goto: boolean }
  | { kind: 'blob'; blob: Buffer; continues: boolean };

/** A span of the message or a buffer of its own, copied into the entry at the end. */
type Piece = Buffer | { buf: Buffer; start: number; end: number };

/**
 * Reads rules of one family. Holds scratch state between rules, so one decoder serves a whole dump
 * without allocating per expression.
 */
export class RuleDecoder {
  readonly family: Family;
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
  readonly #xt: XtExpr = { name: '', revision: 0, infoOff: -1, infoLen: 0 };
  readonly #limit: LimitExpr = { rate: 0n, unit: 0n, burst: 0, type: 0, flags: 0 };
  readonly #log: LogExpr = { group: -1, prefix: null, snaplen: -1, threshold: 0, syslog: false };
  readonly #counter: CounterExpr = { packetsAt: -1, bytesAt: -1 };

  // Per rule.
  #buf: Buffer = Buffer.alloc(0);
  #header: Buffer = Buffer.alloc(0);
  #pieces: Piece[] = [];
  #action: Action = { kind: 'none' };
  #counted = false;
  #packets = 0n;
  #bytes = 0n;
  #index = 0;
  #nameOff = -1;
  #nameLen = 0;
  #inSet = false;
  #outSet = false;
  #srcSet = false;
  #dstSet = false;
  #protoSet = false;
  #fragSet = false;

  constructor(family: Family) {
    this.family = family;
    this.#l = entryLayout(family);
  }

  /**
   * Translates the expressions in buf[start, end) (an NFTA_RULE_EXPRESSIONS payload) and the rule's
   * USERDATA (udataOff < 0 when absent) into an entry. Throws NftOpaqueRuleError where the rule has no
   * iptables form that keeps its meaning.
   */
  decode(buf: Buffer, start: number, end: number, udataOff = -1, udataLen = 0): TranslatedRule {
    this.#reset(buf);
    walkExprs(buf, start, end, (span) => {
      this.#expression(span);
    });
    const comment = udataOff >= 0 ? readComment(buf, udataOff, udataLen) : null;
    if (comment !== null) this.#pieces.push(comment);
    return this.#assemble();
  }

  #reset(buf: Buffer): void {
    this.#buf = buf;
    this.#header = Buffer.alloc(this.#l.header);
    this.#pieces = [];
    this.#action = { kind: 'none' };
    this.#counted = false;
    this.#packets = 0n;
    this.#bytes = 0n;
    this.#index = -1;
    this.#nameOff = -1;
    this.#inSet = this.#outSet = this.#srcSet = this.#dstSet = this.#protoSet = this.#fragSet = false;
    this.#regs.clear();
    this.#ports.clear();
  }

  #refuse(reason: string): never {
    const name = this.#nameOff >= 0 ? readStr(this.#buf, this.#nameOff, this.#nameLen) : undefined;
    throw new NftOpaqueRuleError(reason, name, this.#index >= 0 ? this.#index : undefined);
  }

  #expression(span: ExprSpan): void {
    this.#index++;
    this.#nameOff = span.nameOff;
    this.#nameLen = span.nameLen;
    if (span.dataOff < 0 && span.kind !== EXPR.unknown) this.#refuse('an expression without data');
    // Only a counter may follow the action, and only an action that lets the packet go on (NFLOG, TRACE):
    // after a verdict or a target that may end the rule, it would never count.
    const action = this.#action;
    if (action.kind !== 'none' && !(span.kind === EXPR.counter && action.kind === 'blob' && action.continues)) {
      this.#refuse('an expression after the verdict or target');
    }
    const buf = this.#buf;
    const t = this.#t.parse(buf, span.dataOff, span.dataEnd);
    switch (span.kind) {
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
        const c = readCounter(t, this.#counter);
        if (this.#counted) this.#refuse('a second counter');
        if (c.packetsAt < 0 || c.bytesAt < 0) this.#refuse('a counter without values');
        this.#counted = true;
        this.#packets = buf.readBigUInt64BE(c.packetsAt);
        this.#bytes = buf.readBigUInt64BE(c.bytesAt);
        return;
      }
      case EXPR.immediate:
        return this.#onImmediate(readImmediate(buf, t, this.#imm));
      case EXPR.match:
        return this.#onCompat(readXt(buf, t, this.#xt), false);
      case EXPR.target:
        return this.#onCompat(readXt(buf, t, this.#xt), true);
      case EXPR.limit:
        return this.#onLimit(readLimit(buf, t, this.#limit));
      case EXPR.log:
        return this.#onLog(readLog(buf, t, this.#log));
      case EXPR.lookup:
        return this.#refuse('a set lookup has no iptables form in an ip/ip6 table (iptables-nft shows the rule without it)');
      default:
        return this.#refuse('an expression with no iptables form');
    }
  }

  #onMeta(m: MetaExpr): void {
    if (m.sreg >= 0) {
      // `meta set nftrace with reg N` after `immediate reg N 1`: -j TRACE.
      if (m.key !== META_KEY.NFTRACE) this.#refuse('a meta set other than nftrace has no iptables form');
      const r = this.#regs.get(m.sreg);
      if (!r || r.type !== REG_IMMEDIATE || r.immLen < 1) this.#refuse('meta nftrace set from an unknown register');
      if (this.#buf[r.immOff] === 0) this.#refuse('meta nftrace set 0 (clearing the trace) has no iptables form');
      const blob = extensionBlob(XT_TRACE);
      this.#action = { kind: 'blob', blob, continues: true };
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
    const l = this.#l;
    switch (r.key) {
      case META_KEY.L4PROTO: {
        if (r.bitwise || d.len !== 1) this.#refuse('a masked or wide protocol comparison');
        const inv = this.#inverted(c.op, 'the protocol');
        this.#setProtocol(buf[d.off]!, inv);
        return;
      }
      case META_KEY.IIFNAME:
      case META_KEY.OIFNAME: {
        const input = r.key === META_KEY.IIFNAME;
        if (r.bitwise) this.#refuse('a masked interface name');
        if (input ? this.#inSet : this.#outSet) this.#refuse('a second interface comparison');
        const inv = this.#inverted(c.op, 'an interface name');
        this.#interface(input ? l.iniface : l.outiface, input ? l.inifaceMask : l.outifaceMask, d.off, d.len, inv,
          input ? INV.VIA_IN : INV.VIA_OUT);
        if (input) this.#inSet = true;
        else this.#outSet = true;
        return;
      }
      case META_KEY.MARK: {
        if (d.len !== 4) this.#refuse('a mark comparison that is not 32 bits wide');
        const inv = this.#inverted(c.op, 'the mark');
        const blob = extensionBlob(XT_MARK1);
        const data = EXTENSION_HEADER;
        blob.set(buf.subarray(d.off, d.off + 4), data + XT_MARK1.MARK);
        if (r.bitwise) blob.set(buf.subarray(r.maskOff, r.maskOff + 4), data + XT_MARK1.MASK);
        else blob.writeUInt32LE(0xffffffff, data + XT_MARK1.MASK);
        blob[data + XT_MARK1.INVERT] = inv ? 1 : 0;
        this.#pieces.push(blob);
        return;
      }
      case META_KEY.PKTTYPE: {
        if (r.bitwise || d.len !== 1) this.#refuse('a masked or wide packet type comparison');
        const inv = this.#inverted(c.op, 'the packet type');
        const blob = extensionBlob(XT_PKTTYPE);
        blob.writeInt32LE(buf[d.off]!, EXTENSION_HEADER + XT_PKTTYPE.PKTTYPE);
        blob.writeInt32LE(inv ? 1 : 0, EXTENSION_HEADER + XT_PKTTYPE.INVERT);
        this.#pieces.push(blob);
        return;
      }
      default:
        this.#refuse(`meta key ${r.key} has no iptables form`);
    }
  }

  #setProtocol(proto: number, inv: boolean): void {
    if (this.#protoSet) this.#refuse('a second protocol comparison');
    const l = this.#l;
    this.#protoSet = true;
    this.#header.writeUInt16LE(proto, l.proto);
    if (l.protoFlag) this.#header[l.flags]! |= l.protoFlag;
    if (inv) this.#header[l.invflags]! |= INV.PROTO;
  }

  /** `-i`/`-o` from the compared name (iptables' parse_ifname and parse_invalid_iface). */
  #interface(nameAt: number, maskAt: number, off: number, len: number, inv: boolean, invBit: number): void {
    const buf = this.#buf;
    const h = this.#header;
    if (len === 0 || len > IFNAMSIZ) this.#refuse('an interface name of impossible length');
    let nul = 0;
    while (nul < len && buf[off + nul] !== 0) nul++;
    if (nul < len) {
      for (let i = nul; i < len; i++) if (buf[off + i] !== 0) this.#refuse('an interface name with bytes after its end');
      if (nul === 0) this.#refuse('an empty interface name');
      if (nul === 7 && !inv && buf.toString('latin1', off, off + 7) === 'INVAL/D') {
        // iptables-nft's `! -i +`: a name no interface has.
        h[nameAt] = 0x2b;
        h[maskAt] = 0xff;
        h[maskAt + 1] = 0xff;
        h[this.#l.invflags]! |= invBit;
        return;
      }
      h.set(buf.subarray(off, off + nul), nameAt);
      h.fill(0xff, maskAt, maskAt + nul + 1);
    } else {
      // A prefix: `eth+`.
      if (len > IFNAMSIZ - 2) this.#refuse('an interface prefix too long for iptables');
      h.set(buf.subarray(off, off + len), nameAt);
      h[nameAt + len] = 0x2b;
      h.fill(0xff, maskAt, maskAt + len);
    }
    if (inv) h[this.#l.invflags]! |= invBit;
  }

  #cmpNetwork(r: Register, c: CmpExpr): void {
    const buf = this.#buf;
    const d = c.data;
    const l = this.#l;
    const addrs = ADDRESS_OFFSETS[this.family];
    if (r.offset === addrs.src || r.offset === addrs.dst) {
      const src = r.offset === addrs.src;
      if (src ? this.#srcSet : this.#dstSet) this.#refuse('a second address comparison');
      if (r.len < 1 || r.len > l.addrLen || d.len !== r.len) this.#refuse('an address comparison of an unexpected width');
      if (r.bitwise && r.maskLen !== r.len) this.#refuse('an address mask of an unexpected width');
      const inv = this.#inverted(c.op, 'an address');
      const addrAt = src ? l.src : l.dst;
      const maskAt = src ? l.smsk : l.dmsk;
      const h = this.#header;
      for (let i = 0; i < r.len; i++) {
        const m = r.bitwise ? buf[r.maskOff + i]! : 0xff;
        if ((buf[d.off + i]! & ~m) !== 0) this.#refuse('an address with bits outside its mask (never matches)');
        h[addrAt + i] = buf[d.off + i]!;
        h[maskAt + i] = m;
      }
      if (inv) h[l.invflags]! |= src ? INV.SRCIP : INV.DSTIP;
      if (src) this.#srcSet = true;
      else this.#dstSet = true;
      return;
    }
    if (this.family === 4 && r.offset === 9 && r.len === 1 && !r.bitwise && d.len === 1) {
      // `ip protocol tcp`: the same as `meta l4proto tcp` in IPv4.
      return this.#setProtocol(buf[d.off]!, this.#inverted(c.op, 'the protocol'));
    }
    if (this.family === 4 && r.offset === 6 && r.len === 2 && r.bitwise && d.len === 2) {
      // -f: (frag_off & 0x1fff) != 0; `! -f`: == 0.
      const mask = buf.readUInt16BE(r.maskOff);
      if (mask !== 0x1fff || buf.readUInt16BE(d.off) !== 0 || this.#fragSet) this.#refuse('a fragment offset comparison other than -f');
      // A non-zero offset (neq) is -f; a zero one (eq) is `! -f`.
      const fragment = this.#inverted(c.op, 'the fragment offset');
      this.#fragSet = true;
      this.#header[l.flags]! |= l.fragFlag;
      if (!fragment) this.#header[l.invflags]! |= INV.FRAG;
      return;
    }
    this.#refuse(`a comparison of network header bytes ${r.offset}+${r.len} has no iptables form`);
  }

  /** Ports and tcp flags (nft_parse_transport), for a rule that says `-p tcp` or `-p udp`. */
  #cmpTransport(r: Register, c: CmpExpr): void {
    const buf = this.#buf;
    const d = c.data;
    const proto = this.#transportProtocol();
    if (d.len !== r.len) this.#refuse('a transport header comparison of an unexpected width');
    if (r.offset === 13 && r.len === 1 && proto === IPPROTO_TCP) {
      const mask = r.bitwise ? buf[r.maskOff]! : 0xff;
      if (!this.#ports.flags(mask, buf[d.off]!, this.#inverted(c.op, 'tcp flags'), this.#pieces.length)) {
        this.#refuse('a second tcp flags comparison');
      }
      return;
    }
    if (r.bitwise) this.#refuse('a masked port comparison has no iptables form');
    let ok: boolean;
    if (r.offset === 0 && r.len === 4) {
      const inv = this.#inverted(c.op, 'two ports at once');
      ok = this.#ports.port(proto, 'src', CMP_OP.EQ, buf.readUInt16BE(d.off), inv, this.#pieces.length) &&
        this.#ports.port(proto, 'dst', CMP_OP.EQ, buf.readUInt16BE(d.off + 2), inv, this.#pieces.length);
    } else if ((r.offset === 0 || r.offset === 2) && r.len === 2) {
      const side = r.offset === 0 ? 'src' : 'dst';
      const op = c.op === CMP_OP.NEQ ? CMP_OP.EQ : c.op;
      ok = this.#ports.port(proto, side, op, buf.readUInt16BE(d.off), c.op === CMP_OP.NEQ, this.#pieces.length);
    } else {
      this.#refuse(`a comparison of transport header bytes ${r.offset}+${r.len} has no iptables form`);
    }
    if (!ok) this.#refuse('port comparisons that do not make one port range');
  }

  #transportProtocol(): number {
    const l = this.#l;
    const proto = this.#protoSet ? this.#header.readUInt16LE(l.proto) : 0;
    if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) this.#refuse('a transport header comparison without -p tcp or -p udp');
    if (this.#header[l.invflags]! & INV.PROTO) this.#refuse('a transport header comparison under an inverted protocol');
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
    if (lo > hi || !this.#ports.range(proto, r.offset === 0 ? 'src' : 'dst', lo, hi, g.op === RANGE_OP.NEQ, this.#pieces.length)) {
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
    switch (i.code) {
      case NF_ACCEPT:
        this.#action = { kind: 'verdict', label: 'ACCEPT', goto: false };
        return;
      case NF_DROP:
        this.#action = { kind: 'verdict', label: 'DROP', goto: false };
        return;
      case NFT_RETURN:
        this.#action = { kind: 'verdict', label: 'RETURN', goto: false };
        return;
      case NFT_JUMP:
      case NFT_GOTO:
        if (i.chain === '' || Buffer.byteLength(i.chain) > MAX_CHAIN_NAME) this.#refuse(`a jump to a chain iptables cannot name (\`${i.chain}')`);
        this.#action = { kind: 'verdict', label: i.chain, goto: i.code === NFT_GOTO };
        return;
      default:
        this.#refuse(`verdict ${i.code} has no iptables form`);
    }
  }

  /** A compat match or target: its blob is the xtables blob, header rebuilt. */
  #onCompat(x: XtExpr, target: boolean): void {
    if (x.name === '' || x.name.length > MAX_CHAIN_NAME || x.revision < 0 || x.revision > 255 || x.infoOff < 0) {
      this.#refuse(`a malformed compat ${target ? 'target' : 'match'}`);
    }
    const blob = extensionBlob({ name: x.name, revision: x.revision, dataSize: (x.infoLen + 7) & ~7 });
    this.#buf.copy(blob, EXTENSION_HEADER, x.infoOff, x.infoOff + x.infoLen);
    if (target) this.#action = { kind: 'blob', blob, continues: false };
    else this.#pieces.push(blob);
  }

  /** A native `limit` as iptables-nft reads it back into xt_rateinfo (nft_parse_limit). */
  #onLimit(g: LimitExpr): void {
    if (g.type !== LIMIT_TYPE.PKTS || g.flags !== 0) this.#refuse('a byte or inverted limit has no iptables form');
    if (g.rate === 0n) this.#refuse('a limit with a zero rate');
    const avg = (BigInt(XT_RATEINFO.SCALE) * g.unit) / g.rate;
    if (avg === 0n || avg > 0xffffffffn) this.#refuse('a limit rate outside what -m limit can hold');
    const blob = extensionBlob(XT_RATEINFO);
    blob.writeUInt32LE(Number(avg), EXTENSION_HEADER + XT_RATEINFO.AVG);
    blob.writeUInt32LE(g.burst, EXTENSION_HEADER + XT_RATEINFO.BURST);
    this.#pieces.push(blob);
  }

  /**
   * A native `log` with a group is -j NFLOG (nft_parse_log). A prefix longer than the blob's 63
   * characters is kept whole in a longer blob, as iptables-nft does.
   */
  #onLog(g: LogExpr): void {
    if (g.group < 0 || g.syslog) this.#refuse('a syslog `log` has no iptables form (use -j LOG)');
    const prefix = g.prefix ?? '';
    const bytes = Buffer.byteLength(prefix);
    if (bytes >= XT_NFLOG.NFT_PREFIXLEN) this.#refuse('an NFLOG prefix longer than 127 bytes');
    const prefixSize = bytes < XT_NFLOG.dataSize - XT_NFLOG.PREFIX ? XT_NFLOG.dataSize - XT_NFLOG.PREFIX : XT_NFLOG.NFT_PREFIXLEN;
    const blob = extensionBlob(XT_NFLOG, (XT_NFLOG.PREFIX + prefixSize + 7) & ~7);
    const data = EXTENSION_HEADER;
    if (g.snaplen >= 0) {
      blob.writeUInt32LE(g.snaplen, data + XT_NFLOG.LEN);
      blob.writeUInt16LE(XT_NFLOG.F_COPY_LEN, data + XT_NFLOG.FLAGS);
    }
    blob.writeUInt16LE(g.group, data + XT_NFLOG.GROUP);
    blob.writeUInt16LE(g.threshold, data + XT_NFLOG.THRESHOLD);
    blob.write(prefix, data + XT_NFLOG.PREFIX, 'utf8');
    this.#action = { kind: 'blob', blob, continues: true };
  }

  #assemble(): TranslatedRule {
    const pieces = this.#pieces;
    const port = this.#ports.blobs();
    // Native port matches sit where their first expression was; PortMatches tells where.
    const ordered: Piece[] = [];
    for (let i = 0; i <= pieces.length; i++) {
      for (const p of port) if (p.before === i) ordered.push(p.blob);
      if (i < pieces.length) ordered.push(pieces[i]!);
    }
    const l = this.#l;
    const action = this.#action;
    const label = action.kind === 'verdict' ? action.label : '';
    const target = action.kind === 'blob' ? action.blob : standardTarget(label);
    let size = l.header + target.length;
    for (const p of ordered) size += Buffer.isBuffer(p) ? p.length : p.end - p.start;
    if (size > 0xffff) this.#refuse('the rule is too large for an iptables entry');
    const entry = Buffer.allocUnsafe(size);
    this.#header.copy(entry, 0);
    let at = l.header;
    for (const p of ordered) {
      if (Buffer.isBuffer(p)) at += p.copy(entry, at);
      else at += p.buf.copy(entry, at, p.start, p.end);
    }
    entry.writeUInt16LE(at, l.targetOffset);
    target.copy(entry, at);
    entry.writeUInt16LE(size, l.nextOffset);
    if (action.kind === 'verdict' && action.goto) entry[l.flags]! |= l.gotoFlag;
    entry.writeBigUInt64LE(this.#packets, l.counters);
    entry.writeBigUInt64LE(this.#bytes, l.counters + 8);
    return { entry, label, standard: action.kind !== 'blob' };
  }
}
