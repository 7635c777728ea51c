// The packet header fields of one Rule (`-s -d -i -o -p -f`, counters) and the entry header they encode
// to, in an object of their own: a rule read back and never asked for its fields (a table's counters or
// parameters read) makes none, and the Rules of a large table stay small while its list holds them.
import { encodeHeader, entryLayout, INV, interfaceMasks, type EntryHeader } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import { protocolSaveName, saveAddress, saveInterface, type AddressSpec, type InterfaceSpec, type ProtocolSpec } from './address.js';
import { flagBytes, headerOf, parseKeyOf, withGoto, type Counters, type RuleFields } from './fields.js';
import { ANY_ADDRESS, kernelAddress, kernelInterface, kernelProtocol, NO_INTERFACE, NO_PROTOCOL, ZERO_COUNTERS } from './kernel-fields.js';

export class RuleHeader implements RuleFields {
  // The specs are immutable values: setters replace them, so headers share the empty ones.
  src: AddressSpec;
  dst: AddressSpec;
  in: InterfaceSpec = NO_INTERFACE;
  out: InterfaceSpec = NO_INTERFACE;
  proto: ProtocolSpec = NO_PROTOCOL;
  /** 0 none, 1 `-f`, -1 `! -f`. */
  fragment: 0 | 1 | -1 = 0;
  counters: Counters = ZERO_COUNTERS;
  /** The header the fields encode to, or null when one changed since (see bytes()). */
  encoded: Buffer | null = null;
  /** The kernel's entry header while the fields are as read back: extensions' save() reads it. */
  kernel: Buffer | null = null;
  /** flagBytes() of the fields (the goto flag aside), or -1 when a field changed since. */
  #flags = -1;

  constructor(readonly family: Family) {
    this.src = ANY_ADDRESS[family];
    this.dst = ANY_ADDRESS[family];
  }

  /** The fields of the entry header at `at` of `e`, as a rule read back has them. */
  static fromKernel(family: Family, e: Buffer, at: number): RuleHeader {
    const h = new RuleHeader(family);
    const l = entryLayout(family);
    const inv = e[at + l.invflags]!;
    h.src = kernelAddress(family, e, at + l.src, at + l.smsk, (inv & INV.SRCIP) !== 0);
    h.dst = kernelAddress(family, e, at + l.dst, at + l.dmsk, (inv & INV.DSTIP) !== 0);
    h.in = kernelInterface(e, at + l.iniface, at + l.inifaceMask, (inv & INV.VIA_IN) !== 0);
    h.out = kernelInterface(e, at + l.outiface, at + l.outifaceMask, (inv & INV.VIA_OUT) !== 0);
    h.proto = kernelProtocol(e[at + l.proto]! | (e[at + l.proto + 1]! << 8), (inv & INV.PROTO) !== 0);
    if (l.fragFlag && e[at + l.flags]! & l.fragFlag) h.fragment = inv & INV.FRAG ? -1 : 1;
    const packets = e.readBigUInt64LE(at + l.counters);
    const bytes = e.readBigUInt64LE(at + l.counters + 8);
    if (packets !== 0n || bytes !== 0n) h.counters = { packets, bytes };
    h.kernel = e.subarray(at, at + l.header);
    return h;
  }

  /** A header of the given fields (a spec compiled in one call). */
  static of(family: Family, fields: RuleFields): RuleHeader {
    const h = new RuleHeader(family);
    h.src = fields.src;
    h.dst = fields.dst;
    h.in = fields.in;
    h.out = fields.out;
    h.proto = fields.proto;
    h.fragment = fields.fragment;
    h.counters = fields.counters;
    return h;
  }

  /** Forgets what the fields encoded to: after a field changed. */
  changed(): void {
    this.encoded = null;
    this.kernel = null;
    this.#flags = -1;
  }

  /** flags and invflags of the header, flags in the low byte, invflags above; `goto`: the target's. */
  flagBytes(goto: boolean): number {
    if (this.#flags < 0) this.#flags = flagBytes(this.family, this);
    return withGoto(this.family, this.#flags, goto);
  }

  /** What of the header extension parsers read (see parseKeyOf). */
  parseKey(goto: boolean): number {
    return parseKeyOf(this, this.flagBytes(goto));
  }

  entryHeader(goto: boolean): EntryHeader {
    return headerOf(this, this.flagBytes(goto));
  }

  /** The entry header (ipt_entry / ip6t_entry) without matches or target, kept until a field changes. */
  bytes(goto: boolean): Buffer {
    this.encoded ??= encodeHeader(this.family, this.entryHeader(goto));
    return this.encoded;
  }

  /** The fields as iptables-save prints them, each with a leading space. */
  saveText(goto: boolean): string {
    const family = this.family;
    const masks = interfaceMasks(family, this.kernel ?? this.bytes(goto));
    let text = saveAddress(family, 's', this.src) + saveAddress(family, 'd', this.dst);
    text += saveInterface('i', this.in.name, masks.in, this.in.invert);
    text += saveInterface('o', this.out.name, masks.out, this.out.invert);
    if (this.proto.number !== 0) text += `${this.proto.invert ? ' !' : ''} -p ${protocolSaveName(this.proto.number)}`;
    if (this.fragment !== 0) text += `${this.fragment === -1 ? ' !' : ''} -f`;
    return text;
  }
}
