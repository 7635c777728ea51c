// The tcp or udp match a rule's native port and flag comparisons make. iptables-nft gathers them all into
// one xt_tcp/xt_udp (nft-shared.c nft_tcp_match), created where the first of them stands among the
// matches. Each bound may be set once: a second comparison of the same port would be dropped or merged
// by iptables-nft (`--dport 22 --dport 23` reads back as `--dport 23`), so it makes the rule opaque.
import { EXTENSION_HEADER } from '../../xtables/entry.js';
import { portMatchBlob, XT_TCP, XT_UDP } from '../../xtables/blobs.js';
import { CMP_OP } from '../expr/cmp.js';

const IPPROTO_TCP = 6;

interface Side {
  lo: boolean;
  hi: boolean;
  inverted: boolean;
}

export class PortMatches {
  #blob: Buffer | null = null;
  #tcp = false;
  #before = 0;
  readonly #src: Side = { lo: false, hi: false, inverted: false };
  readonly #dst: Side = { lo: false, hi: false, inverted: false };
  #flags = false;

  clear(): void {
    this.#blob = null;
    this.#flags = false;
    for (const s of [this.#src, this.#dst]) s.lo = s.hi = s.inverted = false;
  }

  /** The match blob, created at `position` among the rule's matches on first use. */
  #match(proto: number, position: number): Buffer {
    if (!this.#blob) {
      this.#tcp = proto === IPPROTO_TCP;
      this.#blob = portMatchBlob(this.#tcp ? XT_TCP : XT_UDP);
      this.#before = position;
    }
    return this.#blob;
  }

  #layout() {
    return this.#tcp ? XT_TCP : XT_UDP;
  }

  #setSide(proto: number, position: number, side: 'src' | 'dst', lo: number | null, hi: number | null, inverted: boolean): boolean {
    const blob = this.#match(proto, position);
    const l = this.#layout();
    const s = side === 'src' ? this.#src : this.#dst;
    if ((lo !== null && s.lo) || (hi !== null && s.hi) || s.inverted || (inverted && (s.lo || s.hi))) return false;
    const at = EXTENSION_HEADER + (side === 'src' ? l.SPTS : l.DPTS);
    if (lo !== null) {
      blob.writeUInt16LE(lo, at);
      s.lo = true;
    }
    if (hi !== null) {
      blob.writeUInt16LE(hi, at + 2);
      s.hi = true;
    }
    if (inverted) {
      s.inverted = true;
      blob[EXTENSION_HEADER + l.INVFLAGS]! |= side === 'src' ? l.INV_SRCPT : l.INV_DSTPT;
    }
    return blob.readUInt16LE(at) <= blob.readUInt16LE(at + 2);
  }

  /**
   * One port comparison (port_match_single_to_range): EQ (inverted for NEQ) sets both bounds, LTE/LT
   * the upper, GTE/GT the lower. Returns false when it conflicts with what is already set, or can
   * never match.
   */
  port(proto: number, side: 'src' | 'dst', op: number, port: number, inverted: boolean, position = 0): boolean {
    switch (op) {
      case CMP_OP.EQ:
        return this.#setSide(proto, position, side, port, port, inverted);
      case CMP_OP.LTE:
        return this.#setSide(proto, position, side, null, port, false);
      case CMP_OP.LT:
        return port > 0 && this.#setSide(proto, position, side, null, port - 1, false);
      case CMP_OP.GTE:
        return this.#setSide(proto, position, side, port, null, false);
      case CMP_OP.GT:
        return port < 0xffff && this.#setSide(proto, position, side, port + 1, null, false);
      default:
        return false;
    }
  }

  /** A `range` expression: lo:hi, inverted for NEQ. */
  range(proto: number, side: 'src' | 'dst', lo: number, hi: number, inverted: boolean, position = 0): boolean {
    return this.#setSide(proto, position, side, lo, hi, inverted);
  }

  /** `--tcp-flags MASK COMP` (tcp only). */
  flags(mask: number, comp: number, inverted: boolean, position = 0): boolean {
    if (this.#flags) return false;
    const blob = this.#match(IPPROTO_TCP, position);
    if (!this.#tcp) return false;
    this.#flags = true;
    blob[EXTENSION_HEADER + XT_TCP.FLG_MASK] = mask;
    blob[EXTENSION_HEADER + XT_TCP.FLG_CMP] = comp;
    if (inverted) blob[EXTENSION_HEADER + XT_TCP.INVFLAGS]! |= XT_TCP.INV_FLAGS;
    return true;
  }

  /** The match, if any comparison made one, and the position among the matches it goes before. */
  blobs(): { before: number; blob: Buffer }[] {
    return this.#blob ? [{ before: this.#before, blob: this.#blob }] : [];
  }
}
