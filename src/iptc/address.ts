// Addresses, masks, interfaces and protocols of a rule header: parsing user input, printing read-backs
// (python-iptables' forms) and printing iptables-save's forms.
import { readFileSync } from 'node:fs';
import { formatIPv4, formatIPv6, maskToPrefix } from '../inet/address.js';
import type { Family } from '../xtables/shim.js';

/** An address and mask; the buffers may be shared and are never modified once made. */
export interface AddressSpec {
  addr: Buffer;
  mask: Buffer;
  invert: boolean;
}

const ANY = { 4: Buffer.alloc(4), 16: Buffer.alloc(16) } as const;

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

function parseIPv4(text: string): Buffer | null {
  const buf = Buffer.allocUnsafe(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; /* a final '.' closes the last part */
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else if (c === 46 && digits > 0 && part < 4) {
      buf[part++] = value;
      value = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  return part === 4 ? buf : null;
}

function parseIPv6(text: string): Buffer | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length < 2) return null;
  let tail: Buffer | null = null;
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (!tail) return null;
    body = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...rest];
  const buf = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i]!)) return null;
    buf.writeUInt16BE(parseInt(all[i]!, 16), i * 2);
  }
  if (tail) tail.copy(buf, 12);
  return buf;
}

const prefixMasks = new Map<number, Buffer>();

/** The mask of a prefix length; shared, so never modified. */
function prefixMask(bits: number, len: 4 | 16): Buffer {
  const key = bits * 32 + len;
  let mask = prefixMasks.get(key);
  if (!mask) {
    mask = makePrefixMask(bits, len);
    prefixMasks.set(key, mask);
  }
  return mask;
}

function makePrefixMask(bits: number, len: 4 | 16): Buffer {
  const mask = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    mask[i] = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
  }
  return mask;
}

/**
 * Parses `[!] addr[/prefix|/mask]` for a family. IPv4 addresses are stored masked (as the kernel compares
 * them); IPv6 addresses are kept as given. An empty string means "any".
 */
export function parseAddress(family: Family, value: string, what: string): AddressSpec {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${typeof value}`);
  const { invert, rest } = splitInvert(value);
  const len = family === 4 ? 4 : 16;
  if (rest === '') {
    if (invert) throw new TypeError(`${what}: '!' needs an address after it`);
    return { addr: ANY[len], mask: ANY[len], invert: false };
  }
  const slash = rest.indexOf('/');
  const addrText = slash < 0 ? rest : rest.slice(0, slash);
  const maskText = slash < 0 ? null : rest.slice(slash + 1);
  const parse = family === 4 ? parseIPv4 : parseIPv6;
  const addr = parse(addrText);
  if (!addr) throw new TypeError(`${what}: "${addrText}" is not a valid IPv${family} address`);
  let mask: Buffer;
  if (maskText === null) {
    mask = prefixMask(len * 8, len);
  } else if (/^\d{1,3}$/.test(maskText)) {
    const bits = Number(maskText);
    if (bits > len * 8) throw new RangeError(`${what}: prefix length ${bits} is out of range 0-${len * 8}`);
    mask = prefixMask(bits, len);
  } else {
    const parsed = parse(maskText);
    if (!parsed) throw new TypeError(`${what}: "${maskText}" is not a valid IPv${family} mask or prefix length`);
    mask = parsed;
  }
  if (family === 4) for (let i = 0; i < 4; i++) addr[i]! &= mask[i]!;
  return { addr, mask, invert };
}

/** The address of a spec masked by its mask (as iptables stores command-line addresses), in a new spec. */
export function maskedAddress(spec: AddressSpec): AddressSpec {
  const addr = Buffer.from(spec.addr);
  for (let i = 0; i < addr.length; i++) addr[i]! &= spec.mask[i]!;
  return { ...spec, addr };
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

/** `[!] name[+]`, as xtables_parse_interface accepts it; '' or null means any interface. */
export function parseInterface(value: string | null | undefined, what: string): InterfaceSpec {
  if (value === null || value === undefined) return { name: '', invert: false };
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

/** iptables-save's print_iface: the name up to its mask, with `+` where the mask ends early. */
export function saveInterface(letter: 'i' | 'o', name: string, mask: Buffer, invert: boolean): string {
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
  return `${invert ? ' !' : ''} -${letter} ${text}`;
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

/** `[!] name|number` as xtables_parse_protocol accepts it (case-insensitive); '' or null clears. */
export function parseProtocol(value: string | number | null | undefined): ProtocolSpec {
  if (value === null || value === undefined || value === '') return { number: 0, invert: false, text: '' };
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
