// Addresses, masks, interfaces and protocols of a rule header: parsing user input, printing read-backs
// (python-iptables' forms) and printing iptables-save's forms.
import { readFileSync } from 'node:fs';
import { formatIPv4, formatIPv6, maskToPrefix, parseIPv4, parseIPv6 } from '../inet/address.js';
import type { Family } from '../xtables/shim.js';
import { parseAddressAsIptables, strtoui } from './command-line.js';
import { decodeBytes } from '../xtables/text.js';

/** An address and mask; the arrays may be shared and are never modified once made. */
export interface AddressSpec {
  addr: Uint8Array;
  mask: Uint8Array;
  invert: boolean;
}

const ANY = { 4: new Uint8Array(4), 16: new Uint8Array(16) } as const;

/** Splits a leading `!` (with or without a space after it) from a value. */
const NOT_INVERTED = (rest: string) => ({ invert: false, rest });

export function splitInvert(value: string): { invert: boolean; rest: string } {
  const c = value.charCodeAt(0);
  // The common case: no '!' and nothing to trim.
  if (c !== 33 && c > 32 && value.charCodeAt(value.length - 1) > 32) return NOT_INVERTED(value);
  const trimmed = value.trim();
  if (trimmed.startsWith('!')) return { invert: true, rest: trimmed.slice(1).trim() };
  return { invert: false, rest: trimmed };
}

/** Prefix masks by length, for IPv4 (index 0-32) and IPv6 (0-128); shared, so never modified. */
export const PREFIX_MASKS = {
  4: Array.from({ length: 33 }, (_, bits) => makePrefixMask(bits, 4)),
  16: Array.from({ length: 129 }, (_, bits) => makePrefixMask(bits, 16)),
} as const;

function makePrefixMask(bits: number, len: 4 | 16): Uint8Array {
  const mask = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    mask[i] = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
  }
  return mask;
}

/**
 * `a.b.c.d` or `a.b.c.d/len` in decimal without leading zeros, `!` or spaces, the form programs set rule
 * after rule, in one scan (iptables reads it the same way); undefined for anything else (the general
 * parser then decides, and words any error).
 */
export function parsePlainIPv4(text: string): AddressSpec | undefined {
  const slash = text.indexOf('/');
  const end = slash < 0 ? text.length : slash;
  // A part with a leading zero is octal to iptables: the general parser refuses it with the reason.
  for (let i = 0; i < end - 1; i++) {
    if (text.charCodeAt(i) === 48 && (i === 0 || text.charCodeAt(i - 1) === 46) && text.charCodeAt(i + 1) !== 46) {
      return undefined;
    }
  }
  const addr = parseIPv4(text, 0, end);
  if (!addr) return undefined;
  let bits = 32;
  if (slash >= 0) {
    if (slash + 1 === text.length || text.length - slash > 3 || (text.charCodeAt(slash + 1) === 48 && text.length - slash > 2)) {
      return undefined;
    }
    bits = 0;
    for (let i = slash + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      bits = bits * 10 + (c - 48);
    }
    if (bits > 32) return undefined;
  }
  const mask = PREFIX_MASKS[4][bits]!;
  for (let b = 0; b < 4; b++) addr[b]! &= mask[b]!;
  return { addr, mask, invert: false };
}

const LEADING_ZERO_V4 = /(^|\.)0\d/;
const LEADING_ZERO = /^0\d/;

/** The refusal of a number written with a leading zero, which iptables would read as octal. */
function leadingZero(family: Family, what: string, text: string): TypeError {
  let meaning = '';
  try {
    meaning = `, which iptables reads as ${formatAddressSpec(family, parseAddressAsIptables(family, text, what))}`;
  } catch {
    // iptables refuses it too (an 8 or 9 after the zero).
  }
  return new TypeError(
    `${what}: "${text}" has a number with a leading zero${meaning} (octal); write it without the leading zero`,
  );
}

/**
 * Parses `[!] addr[/prefix|/mask]` for a family, in decimal: a number with a leading zero (`010`, which
 * iptables reads as octal 8) is refused, as are the short and hexadecimal forms iptables also takes
 * (Rule.parse and restore read those as iptables does). IPv4 addresses are stored masked (as the kernel
 * compares them); IPv6 addresses are kept as given. An empty string means "any".
 */
export function parseAddress(family: Family, value: string, what: string): AddressSpec {
  if (typeof value !== 'string') {
    throw new TypeError(`${what} must be a string ('' for any address), got ${value === null ? 'null' : typeof value}`);
  }
  if (family === 4) {
    const plain = parsePlainIPv4(value);
    if (plain) return plain;
  }
  const { invert, rest } = splitInvert(value);
  const len = family === 4 ? 4 : 16;
  if (rest === '') {
    if (invert) throw new TypeError(`${what}: '!' needs an address after it`);
    return { addr: ANY[len], mask: ANY[len], invert: false };
  }
  const slash = rest.indexOf('/');
  const addrText = slash < 0 ? rest : rest.slice(0, slash);
  const maskText = slash < 0 ? null : rest.slice(slash + 1);
  if ((family === 4 && LEADING_ZERO_V4.test(addrText)) || (maskText !== null && (family === 4 ? LEADING_ZERO_V4 : LEADING_ZERO).test(maskText))) {
    throw leadingZero(family, what, rest);
  }
  const parse = family === 4 ? parseIPv4 : parseIPv6;
  const addr = parse(addrText);
  if (!addr) throw new TypeError(`${what}: "${addrText}" is not a valid IPv${family} address`);
  let mask: Uint8Array;
  if (maskText === null) {
    mask = PREFIX_MASKS[len][len * 8]!;
  } else if (/^\d{1,3}$/.test(maskText)) {
    const bits = Number(maskText);
    if (bits > len * 8) throw new RangeError(`${what}: prefix length ${bits} is out of range 0-${len * 8}`);
    mask = PREFIX_MASKS[len][bits]!;
  } else {
    const parsed = parse(maskText);
    if (!parsed) throw new TypeError(`${what}: "${maskText}" is not a valid IPv${family} mask or prefix length`);
    mask = parsed;
  }
  if (family === 4) for (let i = 0; i < 4; i++) addr[i]! &= mask[i]!;
  return { addr, mask, invert };
}

/** The read-back form: `[!]addr/mask`, dotted for IPv4, a prefix length for IPv6 (as python-iptables). */
export function formatAddressSpec(family: Family, spec: AddressSpec): string {
  const bang = spec.invert ? '!' : '';
  if (family === 4) return `${bang}${formatIPv4(spec.addr)}/${formatIPv4(spec.mask)}`;
  const prefix = maskToPrefix(spec.mask);
  return `${bang}${formatIPv6(spec.addr)}/${prefix >= 0 ? prefix : formatIPv6(spec.mask)}`;
}

/** iptables-save's ` [!] -s addr/len` (print_ip of iptables.c / ip6tables.c); '' when it prints nothing. */
export function saveAddress(family: Family, letter: 's' | 'd', spec: AddressSpec): string {
  const prefix = maskToPrefix(spec.mask);
  const bang = spec.invert ? ' !' : '';
  if (family === 4) {
    if (!spec.invert && spec.addr.every((b) => b === 0) && spec.mask.every((b) => b === 0)) return '';
    return `${bang} -${letter} ${formatIPv4(spec.addr)}/${prefix >= 0 ? prefix : formatIPv4(spec.mask)}`;
  }
  if (prefix === 0 && !spec.invert) return '';
  return `${bang} -${letter} ${formatIPv6(spec.addr)}/${prefix >= 0 ? prefix : formatIPv6(spec.mask)}`;
}

export interface InterfaceSpec {
  name: string;
  invert: boolean;
}

export const IFNAMSIZ = 16;

/** `[!] name[+]`, as xtables_parse_interface accepts it; '' or null means any interface, undefined is a TypeError. */
export function parseInterface(value: string | null | undefined, what: string): InterfaceSpec {
  if (value === undefined) throw new TypeError(`${what} is undefined: give an interface name, or null for any`);
  if (value === null) return { name: '', invert: false };
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${typeof value}`);
  const { invert, rest } = splitInvert(value);
  if (rest === '' && invert) throw new TypeError(`${what}: '!' needs an interface name after it`);
  if (rest.length >= IFNAMSIZ) {
    throw new RangeError(`${what}: interface name \`${rest}' must be shorter than IFNAMSIZ (${IFNAMSIZ - 1})`);
  }
  if (/[\0\s/]/.test(rest) || Buffer.byteLength(rest, 'latin1') !== rest.length || /[^\x21-\x7e]/.test(rest)) {
    throw new TypeError(`${what}: interface name \`${rest}' has characters the kernel does not allow`);
  }
  return { name: rest, invert };
}

/**
 * iptables-save's print_iface: the name up to its mask, with `+` where the mask ends early. `name` holds
 * the kernel's bytes as Latin-1 (as a rule read back keeps it, so that it is written back as it was); in
 * the text they read as the rest of a saved text reads (decodeBytes), so that its bytes are iptables-save's.
 */
export function saveInterface(letter: 'i' | 'o', name: string, mask: Uint8Array, invert: boolean): string {
  if (mask[0] === 0) return '';
  let text = '';
  for (let i = 0; i < IFNAMSIZ; i++) {
    const ch = i < name.length ? name[i]! : '\0';
    if (mask[i] !== 0) {
      if (ch !== '\0') text += ch;
    } else {
      const prev = i - 1 < name.length ? name[i - 1]! : '\0';
      if (prev !== '\0') text += '+';
      break;
    }
  }
  const shown = /[^\x00-\x7f]/.test(text) ? decodeBytes(Buffer.from(text, 'latin1')) : text;
  return `${invert ? ' !' : ''} -${letter} ${shown}`;
}

let systemProtocols: { byName: Map<string, number>; byNumber: Map<number, string> } | undefined;

/** getprotobyname/getprotobynumber over /etc/protocols, as iptables uses them. */
function protocolsFile() {
  if (systemProtocols) return systemProtocols;
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  let text = '';
  try {
    text = readFileSync('/etc/protocols', 'utf8');
  } catch {
    // Without netbase iptables falls back on its built-in list, and so do we.
  }
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) continue;
    const num = Number(fields[1]);
    if (!Number.isInteger(num)) continue;
    for (const name of [fields[0]!, ...fields.slice(2)]) if (!byName.has(name)) byName.set(name, num);
    if (!byNumber.has(num)) byNumber.set(num, fields[0]!);
  }
  systemProtocols = { byName, byNumber };
  return systemProtocols;
}

/** libxtables' xtables_chain_protos: the names iptables knows without /etc/protocols. */
const XTABLES_PROTOS: [string, number][] = [
  ['tcp', 6], ['sctp', 132], ['udp', 17], ['udplite', 136], ['icmp', 1], ['icmpv6', 58], ['ipv6-icmp', 58],
  ['esp', 50], ['ah', 51], ['ipv6-mh', 135], ['mh', 135], ['all', 0], ['dccp', 33],
];

export interface ProtocolSpec {
  number: number;
  invert: boolean;
  /** The name as given (lower-case), or the number as text. */
  text: string;
}

const protocolSpecs = new Map<string, ProtocolSpec>();

/**
 * `[!] name|number` as xtables_parse_protocol accepts it (case-insensitive), numbers in decimal (a
 * leading zero, octal to iptables, is refused); '' or null clears; undefined is a TypeError.
 */
export function parseProtocol(value: string | number | null | undefined): ProtocolSpec {
  if (value === undefined) throw new TypeError("protocol is undefined: give a name or number, or '' / null for any");
  if (value === null || value === '') return { number: 0, invert: false, text: '' };
  if (typeof value === 'number') value = String(value);
  if (typeof value !== 'string') throw new TypeError(`protocol must be a string or number, got ${typeof value}`);
  let spec = protocolSpecs.get(value);
  if (!spec) {
    spec = Object.freeze(parseProtocolText(value));
    if (protocolSpecs.size < 1000) protocolSpecs.set(value, spec);
  }
  return spec;
}

function parseProtocolText(value: string): ProtocolSpec {
  const { invert, rest } = splitInvert(value);
  const name = rest.toLowerCase();
  let number: number | undefined;
  if (/^\d+$/.test(name)) {
    if (LEADING_ZERO.test(name)) {
      const octal = strtoui(name, 0, 255);
      throw new TypeError(
        `protocol "${rest}" has a leading zero${octal === undefined ? '' : `, which iptables reads as ${octal}`} (octal); ` +
          'write it without the leading zero',
      );
    }
    number = Number(name);
    if (number > 255) throw new RangeError(`protocol number ${name} is out of range 0-255`);
  } else if (name === 'all') {
    number = 0;
  } else {
    number = protocolsFile().byName.get(name) ?? XTABLES_PROTOS.find(([n]) => n === name)?.[1];
  }
  if (number === undefined) throw new TypeError(`unknown protocol "${rest}" specified`);
  if (number === 0 && invert) throw new TypeError('rule would never match protocol');
  return { number, invert, text: number === 0 ? '' : name };
}

/** The name iptables-save prints for a protocol number (print_proto). */
export function protocolSaveName(number: number): string {
  return protocolsFile().byNumber.get(number) ?? XTABLES_PROTOS.find(([, n]) => n === number)?.[0] ?? String(number);
}

/** python-iptables' read-back names: the common protocols by name, the rest as numbers. */
const READBACK_NAMES = new Map<number, string>([
  [1, 'icmp'], [2, 'igmp'], [6, 'tcp'], [17, 'udp'], [41, 'ipv6'], [47, 'gre'], [50, 'esp'], [51, 'ah'],
  [58, 'icmpv6'], [132, 'sctp'], [136, 'udplite'],
]);

export function protocolReadbackName(number: number): string {
  return READBACK_NAMES.get(number) ?? String(number);
}
