// The packet header fields of a rule (`-s -d -i -o -p -f` and counters) and the entry header they make:
// shared by Rule and by the one-call compile of a rule spec (compile.ts), so that both write the same bytes.
import { entryLayout, INV, type EntryHeader } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import type { AddressSpec, InterfaceSpec, ProtocolSpec } from './address.js';

/** Packet and byte counters of a rule or a policy, as `iptables-save -c` prints them: `[packets:bytes]`. */
export type Counters = {
  /** Packets counted. */
  packets: bigint;
  /** Bytes counted. */
  bytes: bigint;
};

/** A counter as setCounters takes it: a bigint, or a safe integer; TypeError or RangeError otherwise. */
export function counterValue(value: bigint | number, what: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer or a bigint`);
    value = BigInt(value);
  }
  if (typeof value !== 'bigint') throw new TypeError(`${what} must be a bigint or a number`);
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`${what} must fit in 64 unsigned bits`);
  return value;
}

export interface RuleFields {
  src: AddressSpec;
  dst: AddressSpec;
  in: InterfaceSpec;
  out: InterfaceSpec;
  proto: ProtocolSpec;
  /** 0 none, 1 `-f`, -1 `! -f`. */
  fragment: 0 | 1 | -1;
  counters: Counters;
}

/** flags and invflags of the header (the goto flag aside, which belongs to the target): flags in the low byte, invflags above. */
export function flagBytes(family: Family, f: RuleFields): number {
  const l = entryLayout(family);
  let flags = 0;
  let invflags = 0;
  if (f.src.invert) invflags |= INV.SRCIP;
  if (f.dst.invert) invflags |= INV.DSTIP;
  if (f.in.invert) invflags |= INV.VIA_IN;
  if (f.out.invert) invflags |= INV.VIA_OUT;
  if (f.proto.invert) invflags |= INV.PROTO;
  if (f.fragment !== 0) flags |= l.fragFlag;
  if (f.fragment === -1) invflags |= INV.FRAG;
  if (f.proto.number !== 0) flags |= l.protoFlag;
  return flags | (invflags << 8);
}

/** flagBytes with the goto flag when the target is a goto. */
export function withGoto(family: Family, bytes: number, goto: boolean): number {
  return goto ? bytes | entryLayout(family).gotoFlag : bytes;
}

/**
 * What of the header extension parsers read: protocol, flags and inversion flags as one number (protocol
 * in the low 16 bits, flags, then invflags), so a build can be found without encoding the header.
 */
export function parseKeyOf(f: RuleFields, bytes: number): number {
  return f.proto.number + (bytes & 0xff) * 0x10000 + (bytes >> 8) * 0x1000000;
}

/** The header's fields for encodeHeader; `bytes` is flagBytes (with the goto flag). */
export function headerOf(f: RuleFields, bytes: number): EntryHeader {
  return {
    src: f.src.addr,
    smsk: f.src.mask,
    dst: f.dst.addr,
    dmsk: f.dst.mask,
    iniface: f.in.name,
    outiface: f.out.name,
    proto: f.proto.number,
    flags: bytes & 0xff,
    invflags: bytes >> 8,
    packets: f.counters.packets,
    bytes: f.counters.bytes,
  };
}
