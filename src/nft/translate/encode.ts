// ipt_entry / ip6t_entry -> nf_tables expressions, exactly as iptables-nft 1.8.9 writes them
// (iptables/nft-ipv4.c nft_ipv4_add, nft-ipv6.c nft_ipv6_add, nft.c add_match/add_action), written
// straight into the batch buffer: interfaces, protocol, addresses, fragment, the matches in order, the
// counter, then the verdict or target, and NFTA_RULE_COMPAT. Where 1.8.9 would change a rule's meaning
// (an inverted part it drops), the match stays an nft_compat blob, which keeps it; where no form keeps
// it, the rule is refused with NftTranslateError.
import type { NlaWriter } from '../../netlink/attributes.js';
import { entryLayout, EXTENSION_HEADER, IFNAMSIZ, INV, type EntryLayout } from '../../xtables/entry.js';
import { XT_MARK1, XT_NFLOG, XT_RATEINFO, XT_TCP, XT_UDP } from '../../xtables/blobs.js';
import type { Family } from '../../xtables/shim.js';
import {
  NF_ACCEPT,
  NF_DROP,
  NFT_GOTO,
  NFT_JUMP,
  NFT_REG_1,
  NFT_REG32_01,
  NFT_RETURN,
  NFT_RULE_COMPAT_F_INV,
  NFTA_RULE,
  NFTA_RULE_COMPAT,
} from '../constants.js';
import { NftTranslateError } from '../errors.js';
import { writeBitwiseMask } from '../expr/bitwise.js';
import { CMP_OP, writeCmp } from '../expr/cmp.js';
import { writeCounter } from '../expr/counter.js';
import { writeImmediateData, writeVerdict } from '../expr/immediate.js';
import { writeLimit } from '../expr/limit.js';
import { writeNflog } from '../expr/log.js';
import { writeMatch } from '../expr/match.js';
import { META_KEY, writeMetaLoad, writeMetaSet } from '../expr/meta.js';
import { PAYLOAD_BASE, writePayloadLoad } from '../expr/payload.js';
import { RANGE_OP, writeRange16 } from '../expr/range.js';
import { writeTarget } from '../expr/target.js';
import { cString, isName, ADDRESS_OFFSETS, INVAL_D } from './layout.js';

/** What a rule entry alone cannot say. */
export interface EncodeOptions {
  /**
   * Whether the target is a standard one (a verdict, a chain to jump to, or '' to fall through) whose
   * label is the target's name field, as Rule.toEntry builds it. Otherwise it is a target extension.
   */
  standard: boolean;
  /** The label of a standard target when the entry does not carry it in the target's name field. */
  label?: string;
  /**
   * The NFLOG prefix as libxtables keeps it beside the blob (up to 127 characters; the blob holds 63).
   * iptables-nft writes this one.
   */
  nflogPrefix?: string;
}

/** ipt_entry flags / invflags bits a rule may carry; any other makes the entry unknown to the codec. */
const KNOWN_INV = INV.VIA_IN | INV.VIA_OUT | INV.SRCIP | INV.DSTIP | INV.FRAG | INV.PROTO;

const scratch = Buffer.alloc(8);
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/**
 * Writes NFTA_RULE_EXPRESSIONS and NFTA_RULE_COMPAT of `entry` at the writer's position (inside a
 * NEWRULE message). Throws NftTranslateError, having written nothing usable, for a rule without a
 * faithful form; the caller discards the message.
 */
export function writeRuleBody(w: NlaWriter, family: Family, entry: Buffer, opts: EncodeOptions): void {
  const l = entryLayout(family);
  const size = entry.length;
  if (size < l.header || entry.readUInt16LE(l.nextOffset) !== size) throw new NftTranslateError('malformed rule entry');
  const flags = entry[l.flags]!;
  const inv = entry[l.invflags]!;
  if (flags & ~(l.fragFlag | l.gotoFlag | l.protoFlag)) throw new NftTranslateError(`unsupported entry flags 0x${flags.toString(16)}`);
  if (inv & ~KNOWN_INV) throw new NftTranslateError(`unsupported inversion flags 0x${inv.toString(16)}`);
  if (inv & INV.FRAG && !(flags & l.fragFlag)) throw new NftTranslateError('an inverted fragment flag without -f');

  const exprs = w.beginNest(NFTA_RULE.EXPRESSIONS);
  writeInterface(w, entry, l.iniface, l.inifaceMask, (inv & INV.VIA_IN) !== 0, META_KEY.IIFNAME, 'i');
  writeInterface(w, entry, l.outiface, l.outifaceMask, (inv & INV.VIA_OUT) !== 0, META_KEY.OIFNAME, 'o');
  const proto = entry.readUInt16LE(l.proto);
  const protoInverted = (inv & INV.PROTO) !== 0;
  if (proto > 255) throw new NftTranslateError(`protocol ${proto} does not fit a byte`);
  if (protoInverted && proto === 0) throw new NftTranslateError('an inverted protocol without -p');
  if (proto !== 0) {
    writeMetaLoad(w, META_KEY.L4PROTO, NFT_REG_1);
    scratch[0] = proto;
    writeCmp(w, NFT_REG_1, protoInverted ? CMP_OP.NEQ : CMP_OP.EQ, scratch, 0, 1);
  }
  const offsets = ADDRESS_OFFSETS[family];
  writeAddress(w, entry, l, l.src, l.smsk, offsets.src, (inv & INV.SRCIP) !== 0, 's');
  writeAddress(w, entry, l, l.dst, l.dmsk, offsets.dst, (inv & INV.DSTIP) !== 0, 'd');
  if (flags & l.fragFlag) {
    // The 13 fragment-offset bits are non-zero in second and further fragments.
    writePayloadLoad(w, PAYLOAD_BASE.NETWORK, 6, 2, NFT_REG_1);
    scratch[0] = 0x1f;
    scratch[1] = 0xff;
    writeBitwiseMask(w, NFT_REG_1, NFT_REG_1, scratch, 0, 2);
    scratch[0] = 0;
    scratch[1] = 0;
    writeCmp(w, NFT_REG_1, inv & INV.FRAG ? CMP_OP.EQ : CMP_OP.NEQ, scratch, 0, 2);
  }

  const targetOffset = entry.readUInt16LE(l.targetOffset);
  if (targetOffset < l.header || targetOffset > size) throw new NftTranslateError('malformed rule entry');
  for (let at = l.header; at < targetOffset; ) {
    const msize = entry.readUInt16LE(at);
    if (msize < EXTENSION_HEADER || at + msize > targetOffset) throw new NftTranslateError('malformed match in rule entry');
    writeMatchOf(w, entry, at, msize, proto, protoInverted);
    at += msize;
  }

  const l64 = l.counters;
  writeCounter(w, entry.readBigUInt64LE(l64), entry.readBigUInt64LE(l64 + 8));
  writeAction(w, entry, l, targetOffset, opts, (flags & l.gotoFlag) !== 0);
  try {
    w.endNest(exprs);
  } catch {
    throw new NftTranslateError('the rule is larger than the 64 KiB an nf_tables expression list can hold');
  }

  const compat = w.beginNest(NFTA_RULE.COMPAT);
  w.u32be(NFTA_RULE_COMPAT.PROTO, proto);
  w.u32be(NFTA_RULE_COMPAT.FLAGS, protoInverted ? NFT_RULE_COMPAT_F_INV : 0);
  w.endNest(compat);
}

/**
 * `-i NAME` (iptables/nft-shared.c add_iniface): the name with its NUL; `eth+` as the prefix without;
 * a lone `+` as the meta load alone, or, inverted, as a comparison with a name no interface can have.
 */
function writeInterface(w: NlaWriter, entry: Buffer, nameAt: number, maskAt: number, invert: boolean, key: number,
  letter: string): void {
  const name = cString(entry, nameAt, IFNAMSIZ);
  if (name.length === 0) {
    if (invert) throw new NftTranslateError(`! -${letter} without an interface name`);
    return;
  }
  const wildcard = name.endsWith('+');
  // The mask must be what xtables_parse_interface makes of the name, or the entry means something else.
  const masked = wildcard ? name.length - 1 : name.length + 1;
  for (let i = 0; i < IFNAMSIZ; i++) {
    const m = entry[maskAt + i]!;
    const want = i < masked ? 0xff : 0;
    // `! -i +` read back from nf_tables carries a two-byte mask (iptables' parse_invalid_iface).
    const lonePlus = name === '+' && i < 2;
    if (m !== want && !lonePlus) throw new NftTranslateError(`-${letter} ${name}: the interface mask does not match the name`);
  }
  writeMetaLoad(w, key, NFT_REG_1);
  const op = invert ? CMP_OP.NEQ : CMP_OP.EQ;
  if (!wildcard) {
    writeCmp(w, NFT_REG_1, op, entry, nameAt, nameAt + name.length + 1);
  } else if (name.length > 1) {
    writeCmp(w, NFT_REG_1, op, entry, nameAt, nameAt + name.length - 1);
  } else if (invert) {
    writeCmp(w, NFT_REG_1, CMP_OP.EQ, INVAL_D, 0, INVAL_D.length);
  }
}

/**
 * `-s/-d ADDR/MASK` (add_addr): a prefix mask loads only its whole bytes; any other mask loads the full
 * address and masks it with a bitwise.
 */
function writeAddress(w: NlaWriter, entry: Buffer, l: EntryLayout, addrAt: number, maskAt: number, offset: number,
  invert: boolean, letter: string): void {
  const n = l.addrLen;
  let any = invert;
  for (let i = 0; i < n && !any; i++) any = entry[addrAt + i] !== 0 || entry[maskAt + i] !== 0;
  if (!any) return;
  for (let i = 0; i < n; i++) {
    if ((entry[addrAt + i]! & ~entry[maskAt + i]!) !== 0) {
      throw new NftTranslateError(`-${letter}: the address has bits outside its mask`);
    }
  }
  let i = 0;
  while (i < n && entry[maskAt + i] === 0xff) i++;
  let bitwise = i < n && entry[maskAt + i] !== 0;
  for (let j = i + 1; !bitwise && j < n; j++) bitwise = entry[maskAt + j] !== 0;
  const len = bitwise ? n : i;
  if (len === 0) {
    throw new NftTranslateError(`! -${letter} 0.0.0.0/0 matches nothing and has no nf_tables form (iptables-nft fails with EINVAL)`);
  }
  writePayloadLoad(w, PAYLOAD_BASE.NETWORK, offset, len, NFT_REG_1);
  if (bitwise) writeBitwiseMask(w, NFT_REG_1, NFT_REG_1, entry, maskAt, maskAt + n);
  writeCmp(w, NFT_REG_1, invert ? CMP_OP.NEQ : CMP_OP.EQ, entry, addrAt, addrAt + len);
}

/** One match: native for limit, tcp, udp and mark where iptables-nft writes them so, else nft_compat. */
function writeMatchOf(w: NlaWriter, entry: Buffer, at: number, size: number, proto: number, protoInverted: boolean): void {
  const data = at + EXTENSION_HEADER;
  const revision = entry[at + 31]!;
  const nameAt = at + 2;
  if (isName(entry, nameAt, XT_RATEINFO.name) && revision === XT_RATEINFO.revision && size >= EXTENSION_HEADER + 8) {
    if (writeNativeLimit(w, entry, data)) return;
  } else if (isName(entry, nameAt, XT_TCP.name) && revision === XT_TCP.revision && size >= EXTENSION_HEADER + 12) {
    if (writeNativeTcp(w, entry, data, proto, protoInverted)) return;
  } else if (isName(entry, nameAt, XT_UDP.name) && revision === XT_UDP.revision && size >= EXTENSION_HEADER + 10) {
    if (writeNativeUdp(w, entry, data, proto, protoInverted)) return;
  } else if (isName(entry, nameAt, XT_MARK1.name) && revision === XT_MARK1.revision && size >= EXTENSION_HEADER + 9) {
    writeMetaLoad(w, META_KEY.MARK, NFT_REG_1);
    // Mark and mask go in host byte order, as the kernel loads skb->mark (iptables/nft.c add_nft_mark).
    if (entry.readUInt32LE(data + XT_MARK1.MASK) !== 0xffffffff) {
      writeBitwiseMask(w, NFT_REG_1, NFT_REG_1, entry, data + XT_MARK1.MASK, data + XT_MARK1.MASK + 4);
    }
    writeCmp(w, NFT_REG_1, entry[data + XT_MARK1.INVERT] ? CMP_OP.NEQ : CMP_OP.EQ, entry, data + XT_MARK1.MARK, data + XT_MARK1.MARK + 4);
    return;
  }
  writeMatch(w, cString(entry, nameAt, 29), revision, entry, data, at + size);
}

const LIMIT_MULT = [
  XT_RATEINFO.SCALE * 24 * 60 * 60,
  XT_RATEINFO.SCALE * 60 * 60,
  XT_RATEINFO.SCALE * 60,
  XT_RATEINFO.SCALE,
];

/** `-m limit` as iptables/nft.c add_nft_limit converts it: the largest unit the average divides into. */
function writeNativeLimit(w: NlaWriter, entry: Buffer, data: number): boolean {
  const avg = entry.readUInt32LE(data + XT_RATEINFO.AVG);
  if (avg === 0) throw new NftTranslateError('-m limit with a zero average');
  let i = 1;
  for (; i < LIMIT_MULT.length; i++) {
    const mult = LIMIT_MULT[i]!;
    if (avg > mult || Math.floor(mult / avg) < mult % avg) break;
  }
  const mult = LIMIT_MULT[i - 1]!;
  writeLimit(w, BigInt(Math.floor(mult / avg)), BigInt(mult / XT_RATEINFO.SCALE), entry.readUInt32LE(data + XT_RATEINFO.BURST));
  return true;
}

interface PortSpec {
  lo: number;
  hi: number;
  invert: boolean;
}

function ports(entry: Buffer, at: number, invert: boolean): PortSpec {
  return { lo: entry.readUInt16LE(at), hi: entry.readUInt16LE(at + 2), invert };
}

/** Whether a port range can be written natively without changing the rule's meaning. */
function nativePorts(p: PortSpec): boolean {
  if (p.lo > p.hi) return false;
  // iptables-nft writes nothing for the full range, which drops an inversion (`! --dport :`).
  return !(p.invert && p.lo === 0 && p.hi === 0xffff);
}

function checkProtocol(proto: number, protoInverted: boolean, want: number, name: string): void {
  if (proto !== want) throw new NftTranslateError(`${name.toUpperCase()} match requires '-p ${name}'`);
  if (protoInverted) {
    throw new NftTranslateError(`! -p ${name} with a ${name} match: the ports would be read from other protocols' headers`);
  }
}

/** `-m tcp` natively (add_nft_tcp): flags, then ports; anything it cannot keep stays compat. */
function writeNativeTcp(w: NlaWriter, entry: Buffer, data: number, proto: number, protoInverted: boolean): boolean {
  const invflags = entry[data + XT_TCP.INVFLAGS]!;
  const flgMask = entry[data + XT_TCP.FLG_MASK]!;
  const src = ports(entry, data + XT_TCP.SPTS, (invflags & XT_TCP.INV_SRCPT) !== 0);
  const dst = ports(entry, data + XT_TCP.DPTS, (invflags & XT_TCP.INV_DSTPT) !== 0);
  if (invflags & ~(XT_TCP.INV_SRCPT | XT_TCP.INV_DSTPT | XT_TCP.INV_FLAGS) || entry[data + XT_TCP.OPTION] !== 0) return false;
  if (allPortsZero(entry, data, 12, src, dst)) return false;
  if (!nativePorts(src) || !nativePorts(dst) || (invflags & XT_TCP.INV_FLAGS && flgMask === 0)) return false;
  checkProtocol(proto, protoInverted, IPPROTO_TCP, 'tcp');
  if (flgMask !== 0) {
    writePayloadLoad(w, PAYLOAD_BASE.TRANSPORT, 13, 1, NFT_REG_1);
    writeBitwiseMask(w, NFT_REG_1, NFT_REG_1, entry, data + XT_TCP.FLG_MASK, data + XT_TCP.FLG_MASK + 1);
    writeCmp(w, NFT_REG_1, invflags & XT_TCP.INV_FLAGS ? CMP_OP.NEQ : CMP_OP.EQ, entry, data + XT_TCP.FLG_CMP, data + XT_TCP.FLG_CMP + 1);
  }
  writePorts(w, src, dst);
  return true;
}

/** `-m udp` natively (add_nft_udp). */
function writeNativeUdp(w: NlaWriter, entry: Buffer, data: number, proto: number, protoInverted: boolean): boolean {
  const invflags = entry[data + XT_UDP.INVFLAGS]!;
  const src = ports(entry, data + XT_UDP.SPTS, (invflags & XT_UDP.INV_SRCPT) !== 0);
  const dst = ports(entry, data + XT_UDP.DPTS, (invflags & XT_UDP.INV_DSTPT) !== 0);
  if (invflags > XT_UDP.INV_MASK) return false;
  if (allPortsZero(entry, data, 9, src, dst)) return false;
  if (!nativePorts(src) || !nativePorts(dst)) return false;
  checkProtocol(proto, protoInverted, IPPROTO_UDP, 'udp');
  writePorts(w, src, dst);
  return true;
}

/** xt_tcp/xt_udp as `-m tcp` alone leaves them: iptables-nft keeps such a match compat. */
function allPortsZero(entry: Buffer, data: number, length: number, src: PortSpec, dst: PortSpec): boolean {
  if (src.lo !== 0 || src.hi !== 0xffff || dst.lo !== 0 || dst.hi !== 0xffff) return false;
  for (let i = 8; i < length; i++) if (entry[data + i] !== 0) return false;
  return true;
}

/**
 * Ports as add_nft_tcpudp writes them: two single ports with the same inversion in one 4-byte load;
 * otherwise each side on its own, skipping a full range.
 */
function writePorts(w: NlaWriter, src: PortSpec, dst: PortSpec): void {
  if (src.lo !== 0 && src.lo === src.hi && dst.lo !== 0 && dst.lo === dst.hi && src.invert === dst.invert) {
    writePayloadLoad(w, PAYLOAD_BASE.TRANSPORT, 0, 4, NFT_REG_1);
    scratch.writeUInt16BE(src.lo, 0);
    scratch.writeUInt16BE(dst.lo, 2);
    writeCmp(w, NFT_REG_1, src.invert ? CMP_OP.NEQ : CMP_OP.EQ, scratch, 0, 4);
    return;
  }
  if (src.lo !== 0 || src.hi < 0xffff) {
    writePayloadLoad(w, PAYLOAD_BASE.TRANSPORT, 0, 2, NFT_REG_1);
    writePortRange(w, src);
  }
  if (dst.lo !== 0 || dst.hi < 0xffff) {
    writePayloadLoad(w, PAYLOAD_BASE.TRANSPORT, 2, 2, NFT_REG_1);
    writePortRange(w, dst);
  }
}

/** expr_gen_range_cmp16: one port as eq/neq, `0:N` as lte/gt, any other range as a `range`. */
function writePortRange(w: NlaWriter, p: PortSpec): void {
  if (p.lo === p.hi) {
    scratch.writeUInt16BE(p.lo, 0);
    writeCmp(w, NFT_REG_1, p.invert ? CMP_OP.NEQ : CMP_OP.EQ, scratch, 0, 2);
  } else if (p.lo === 0 && p.hi < 0xffff) {
    scratch.writeUInt16BE(p.hi, 0);
    writeCmp(w, NFT_REG_1, p.invert ? CMP_OP.GT : CMP_OP.LTE, scratch, 0, 2);
  } else {
    writeRange16(w, NFT_REG_1, p.invert ? RANGE_OP.NEQ : RANGE_OP.EQ, p.lo, p.hi);
  }
}

const TRACE_ON = Buffer.from([1]);

/** The verdict or target (add_action): after the counter, so that the counter counts. */
function writeAction(w: NlaWriter, entry: Buffer, l: EntryLayout, targetOffset: number, opts: EncodeOptions, gotoFlag: boolean): void {
  const size = entry.length - targetOffset;
  if (size < EXTENSION_HEADER) throw new NftTranslateError('malformed target in rule entry');
  const nameAt = targetOffset + 2;
  if (opts.standard) {
    const label = opts.label ?? cString(entry, nameAt, 29);
    const verdict = label === 'ACCEPT' ? NF_ACCEPT : label === 'DROP' ? NF_DROP : label === 'RETURN' ? NFT_RETURN : null;
    if (gotoFlag && (verdict !== null || label === '' || label === 'QUEUE')) {
      throw new NftTranslateError(`-g needs a user chain, not \`${label}'`);
    }
    if (verdict !== null) writeVerdict(w, verdict);
    else if (label === 'QUEUE') throw new NftTranslateError('-j QUEUE has no nf_tables form (iptables-nft fails with ENOENT); use -j NFQUEUE');
    else if (label !== '') writeVerdict(w, gotoFlag ? NFT_GOTO : NFT_JUMP, label);
    return;
  }
  if (gotoFlag) throw new NftTranslateError('-g needs a user chain, not a target extension');
  const data = targetOffset + EXTENSION_HEADER;
  const revision = entry[targetOffset + 31]!;
  if (isName(entry, nameAt, XT_NFLOG.name) && revision === XT_NFLOG.revision && size >= EXTENSION_HEADER + XT_NFLOG.PREFIX + 1) {
    writeNflogTarget(w, entry, data, targetOffset + size, opts.nflogPrefix);
    return;
  }
  if (isName(entry, nameAt, 'TRACE')) {
    writeImmediateData(w, NFT_REG32_01, TRACE_ON, 0, 1);
    writeMetaSet(w, META_KEY.NFTRACE, NFT_REG32_01);
    return;
  }
  writeTarget(w, cString(entry, nameAt, 29), revision, entry, data, targetOffset + size);
}

/**
 * `-j NFLOG` as a `log` (add_log): GROUP always; PREFIX (the long one from udata) when set; SNAPLEN only
 * with --nflog-size; QTHRESHOLD when not 0. --nflog-range, which never had an effect, is dropped.
 */
function writeNflogTarget(w: NlaWriter, entry: Buffer, data: number, end: number, udataPrefix: string | undefined): void {
  const blobPrefix = cString(entry, data + XT_NFLOG.PREFIX, end - data - XT_NFLOG.PREFIX);
  let prefix = blobPrefix;
  if (udataPrefix !== undefined && udataPrefix !== blobPrefix) {
    if (!udataPrefix.startsWith(blobPrefix) || blobPrefix.length === 0) {
      throw new NftTranslateError('the NFLOG prefix given does not match the one in the rule');
    }
    prefix = udataPrefix;
  }
  if (Buffer.byteLength(prefix) >= XT_NFLOG.NFT_PREFIXLEN) throw new NftTranslateError('the NFLOG prefix is longer than 127 bytes');
  const flags = entry.readUInt16LE(data + XT_NFLOG.FLAGS);
  writeNflog(w, {
    group: entry.readUInt16LE(data + XT_NFLOG.GROUP),
    prefix,
    ...(flags & XT_NFLOG.F_COPY_LEN ? { snaplen: entry.readUInt32LE(data + XT_NFLOG.LEN) } : {}),
    threshold: entry.readUInt16LE(data + XT_NFLOG.THRESHOLD),
  });
}
