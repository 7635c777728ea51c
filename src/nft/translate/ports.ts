// The tcp or udp match a rule's native port and flag comparisons make. iptables-nft gathers them all into
// one xt_tcp/xt_udp (nft-shared.c nft_tcp_match), created where the first of them stands among the
// matches. Each bound may be set once: a second comparison of the same port would be dropped or merged
// by iptables-nft (`--dport 22 --dport 23` reads back as `--dport 23`), so it makes the rule opaque.
import { XT_TCP, XT_UDP } from '../../xtables/blobs.js';
import { CMP_OP } from '../expr/cmp.js';

export type PortSide = 'src' | 'dst';

interface Side {
  lo: boolean;
  hi: boolean;
  inverted: boolean;
}

/** Writes into the xt_tcp/xt_udp data at `data` of the entry being built. */
export class PortMatches {
  #buf: Buffer | null = null;
  #data = 0;
  #tcp = false;
  readonly #src: Side = { lo: false, hi: false, inverted: false };
  readonly #dst: Side = { lo: false, hi: false, inverted: false };
  #flags = false;

  clear(): void {
    this.#buf = null;
    this.#flags = false;
    this.#src.lo = this.#src.hi = this.#src.inverted = false;
    this.#dst.lo = this.#dst.hi = this.#dst.inverted = false;
  }

  /** Whether the rule's match exists yet. */
  get started(): boolean {
    return this.#buf !== null;
  }

  /** Starts the match in a zeroed data area: every port matches (xt_tcp's and xt_udp's init). */
  start(tcp: boolean, buf: Buffer, data: number): void {
    const l = tcp ? XT_TCP : XT_UDP;
    this.#buf = buf;
    this.#data = data;
    this.#tcp = tcp;
    buf.writeUInt16LE(0xffff, data + l.SPTS + 2);
    buf.writeUInt16LE(0xffff, data + l.DPTS + 2);
  }

  #setSide(side: PortSide, lo: number, hi: number, inverted: boolean): boolean {
    const blob = this.#buf!;
    const l = this.#tcp ? XT_TCP : XT_UDP;
    const s = side === 'src' ? this.#src : this.#dst;
    if ((lo >= 0 && s.lo) || (hi >= 0 && s.hi) || s.inverted || (inverted && (s.lo || s.hi))) return false;
    const at = this.#data + (side === 'src' ? l.SPTS : l.DPTS);
    if (lo >= 0) {
      blob.writeUInt16LE(lo, at);
      s.lo = true;
    }
    if (hi >= 0) {
      blob.writeUInt16LE(hi, at + 2);
      s.hi = true;
    }
    if (inverted) {
      s.inverted = true;
      blob[this.#data + l.INVFLAGS]! |= side === 'src' ? l.INV_SRCPT : l.INV_DSTPT;
    }
    return blob.readUInt16LE(at) <= blob.readUInt16LE(at + 2);
  }

  /**
   * One port comparison (port_match_single_to_range): EQ (inverted for NEQ) sets both bounds, LTE/LT
   * the upper, GTE/GT the lower. Returns false when it conflicts with what is already set, or can
   * never match.
   */
  port(side: PortSide, op: number, port: number, inverted: boolean): boolean {
    switch (op) {
      case CMP_OP.EQ:
        return this.#setSide(side, port, port, inverted);
      case CMP_OP.LTE:
        return this.#setSide(side, -1, port, false);
      case CMP_OP.LT:
        return port > 0 && this.#setSide(side, -1, port - 1, false);
      case CMP_OP.GTE:
        return this.#setSide(side, port, -1, false);
      case CMP_OP.GT:
        return port < 0xffff && this.#setSide(side, port + 1, -1, false);
      default:
        return false;
    }
  }

  /** A `range` expression: lo:hi, inverted for NEQ. */
  range(side: PortSide, lo: number, hi: number, inverted: boolean): boolean {
    return this.#setSide(side, lo, hi, inverted);
  }

  /** `--tcp-flags MASK COMP` (tcp only). */
  flags(mask: number, comp: number, inverted: boolean): boolean {
    if (this.#flags || !this.#tcp) return false;
    const blob = this.#buf!;
    this.#flags = true;
    blob[this.#data + XT_TCP.FLG_MASK] = mask;
    blob[this.#data + XT_TCP.FLG_CMP] = comp;
    if (inverted) blob[this.#data + XT_TCP.INVFLAGS]! |= XT_TCP.INV_FLAGS;
    return true;
  }
}
