// The header fields of a rule read back from the kernel, as the specs Rule keeps: shared where they hold
// nothing particular (no address, no interface, a common protocol), so that decoding thousands of rules
// makes few objects.
import { maskToPrefix } from '../inet/address.js';
import type { Family } from '../xtables/shim.js';
import { IFNAMSIZ, parseAddress, PREFIX_MASKS, protocolReadbackName, type AddressSpec, type InterfaceSpec, type ProtocolSpec } from './address.js';
import type { Counters } from './fields.js';

export const ZERO_COUNTERS: Counters = Object.freeze({ packets: 0n, bytes: 0n });
export const ANY_ADDRESS: Record<Family, AddressSpec> = {
  4: Object.freeze(parseAddress(4, '', 'address')),
  6: Object.freeze(parseAddress(6, '', 'address')),
};
export const NO_INTERFACE: InterfaceSpec = Object.freeze({ name: '', invert: false });
export const NO_PROTOCOL: ProtocolSpec = Object.freeze({ number: 0, invert: false, text: '' });

/** An address of a kernel entry: shared when it is any address, with a shared mask when a prefix. */
export function kernelAddress(family: Family, e: Buffer, addrAt: number, maskAt: number, invert: boolean): AddressSpec {
  const len = family === 4 ? 4 : 16;
  const prefix = maskToPrefix(e, maskAt, len);
  if (prefix === 0 && !invert) {
    let zero = true;
    for (let i = 0; i < len && zero; i++) zero = e[addrAt + i] === 0;
    if (zero) return ANY_ADDRESS[family];
  }
  const mask = prefix >= 0 ? PREFIX_MASKS[len][prefix]! : e.subarray(maskAt, maskAt + len);
  return { addr: e.subarray(addrAt, addrAt + len), mask, invert };
}

/** An interface of a kernel entry: its name up to the NUL, '' where its mask is empty. */
export function kernelInterface(e: Buffer, nameAt: number, maskAt: number, invert: boolean): InterfaceSpec {
  if (e[maskAt] === 0) return invert ? { name: '', invert } : NO_INTERFACE;
  let end = nameAt;
  while (end < nameAt + IFNAMSIZ && e[end] !== 0) end++;
  return { name: e.toString('latin1', nameAt, end), invert };
}

const kernelProtocols = new Map<number, ProtocolSpec>();

/** A protocol of a kernel entry, as a shared spec. */
export function kernelProtocol(number: number, invert: boolean): ProtocolSpec {
  if (number === 0 && !invert) return NO_PROTOCOL;
  const key = number * 2 + (invert ? 1 : 0);
  let spec = kernelProtocols.get(key);
  if (!spec) {
    spec = Object.freeze({ number, invert, text: number === 0 ? '' : protocolReadbackName(number) });
    kernelProtocols.set(key, spec);
  }
  return spec;
}

