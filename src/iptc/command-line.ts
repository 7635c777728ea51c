// Numbers, addresses and protocols as the iptables command line (and iptables-restore) reads them, for
// Rule.parse and restore: xtables_strtoui is strtoul with base 0, so `010` is octal 8 and `0x10` is 16,
// and IPv4 addresses, masks, prefix lengths and protocol numbers are all read that way. What iptables
// would look up by name (hosts, networks) is refused. Text read here must mean what iptables makes of it.
import { parseIPv6 } from '../inet/address.js';
import type { Family } from '../xtables/shim.js';
import { parsePlainIPv4, PREFIX_MASKS, type AddressSpec } from './address.js';
import { RuleSyntaxError } from './errors.js';

/** C's isspace in the C locale. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function digitValue(c: number, base: number): number {
  let v = 99;
  if (c >= 48 && c <= 57) v = c - 48;
  else if (c >= 97 && c <= 102) v = c - 87;
  else if (c >= 65 && c <= 70) v = c - 55;
  return v < base ? v : -1;
}

/**
 * xtables_strtoui(text, NULL, &value, min, max): leading white space and a `+` allowed, `-` refused,
 * `0x` hexadecimal, a leading `0` octal, and nothing after the digits. undefined where it fails.
 */
export function strtoui(text: string, min: number, max: number): number | undefined {
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) === 43 /* + */) i++;
  let base = 10;
  if (text.charCodeAt(i) === 48 /* 0 */) {
    const x = text.charCodeAt(i + 1) | 0x20;
    if (x === 120 /* x */ && digitValue(text.charCodeAt(i + 2), 16) >= 0) {
      base = 16;
      i += 2;
    } else {
      base = 8;
    }
  }
  const first = i;
  let value = 0;
  for (; i < text.length; i++) {
    const d = digitValue(text.charCodeAt(i), base);
    if (d < 0) break;
    // Past max it fails whatever follows; stopping early keeps the value exact.
    if (value > max) return undefined;
    value = value * base + d;
  }
  if (i === first || i !== text.length || value < min || value > max) return undefined;
  return value;
}

/** __numeric_to_ipaddr copies at most this many characters of the text before reading it. */
const NUMERIC_ADDRESS_MAX = 19;

/**
 * __numeric_to_ipaddr: up to four parts, each read by strtoui (0-255); an address of fewer parts is
 * completed with zeros (`10.1` is 10.1.0.0), a mask is not. undefined where iptables would go on to look
 * the text up as a network or host name. Text longer than NUMERIC_ADDRESS_MAX, which iptables cuts
 * short before reading, is refused here (undefined) rather than read differently.
 */
export function numericIPv4(text: string, isMask: boolean): Uint8Array | undefined {
  if (text.length > NUMERIC_ADDRESS_MAX) return undefined;
  const parts = text.split('.');
  if (parts.length > 4 || (isMask && parts.length < 4)) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < parts.length; i++) {
    const byte = strtoui(parts[i]!, 0, 255);
    if (byte === undefined) return undefined;
    out[i] = byte;
  }
  return out;
}

/** xtables_ipparse_multiple copies each address (with its mask) into a buffer of this size. */
const HOSTNAME_MAX = 255;

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/**
 * One address of `-s`/`-d` (no `!`, no list) as xtables_ipparse_multiple / xtables_ip6parse_multiple
 * read it: leading white space skipped; the mask after the last `/`, as a dotted (IPv4) or full (IPv6)
 * mask or a prefix length read by strtoui; with a zero mask the address is not read at all (`x/0` is
 * any); IPv4 parts read by strtoui, with the short forms completed (`10.1` is 10.1.0.0/32); IPv6 as
 * inet_pton reads it. The address is stored masked. Host and network names, which iptables would look
 * up, are refused (RuleSyntaxError, with iptables' message).
 */
export function parseAddressAsIptables(family: Family, value: string, what: string): AddressSpec {
  if (family === 4) {
    const plain = parsePlainIPv4(value);
    if (plain) return plain;
  }
  let start = 0;
  while (start < value.length && isSpaceAt(value, start)) start++;
  const text = value.slice(start);
  if (text.length > HOSTNAME_MAX) throw new RuleSyntaxError(`${what}: Hostname too long`);
  const slash = text.lastIndexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const len = family === 4 ? 4 : 16;
  let mask: Uint8Array;
  if (slash < 0) {
    mask = PREFIX_MASKS[len][len * 8]!;
  } else {
    const maskText = text.slice(slash + 1);
    const dotted = family === 4 ? numericIPv4(maskText, true) : parseIPv6(maskText);
    const bits = dotted ? undefined : maskText.length <= HOSTNAME_MAX ? strtoui(maskText, 0, len * 8) : undefined;
    if (!dotted && bits === undefined) throw new RuleSyntaxError(`${what}: invalid mask \`${maskText}' specified`);
    mask = dotted ?? PREFIX_MASKS[len][bits!]!;
  }
  if (isZero(mask)) return { addr: new Uint8Array(len), mask, invert: false };
  const parsed = family === 4 ? numericIPv4(addrText, false) : parseIPv6(addrText);
  if (!parsed) {
    throw new RuleSyntaxError(`${what}: host/network \`${addrText}' not found (iptc does not look up host or network names)`);
  }
  for (let i = 0; i < len; i++) parsed[i]! &= mask[i]!;
  return { addr: parsed, mask, invert: false };
}

function isSpaceAt(text: string, i: number): boolean {
  return isSpace(text.charCodeAt(i));
}

/** A protocol number written as iptables reads `-p` (strtoui, 0-255), or undefined for a name. */
export function protocolNumberAsIptables(text: string): number | undefined {
  return strtoui(text, 0, 255);
}

/**
 * A rule number of `-I`/`-R`/`-D CHAIN NUMBER` as iptables reads it (parse_rulenumber: strtoui, 1 and
 * up); 0-based. RuleSyntaxError with iptables' message if it is not one.
 */
export function ruleNumberAsIptables(text: string): number {
  const n = strtoui(text, 1, 0x7fffffff);
  if (n === undefined) throw new RuleSyntaxError(`Invalid rule number \`${text}'`);
  return n - 1;
}
