// Address text in elements and create options, read so that it means what the ipset tool makes of it or
// is refused. The tool resolves an address with gethostbyname2: for IPv4 that is inet_aton on text made of
// digits and dots, where a leading 0 is octal (010.0.0.8 is 8.0.0.8) and short forms fill in zeros (10.1 is
// 10.0.0.1, 1.2.3.4-5 is the range from 0.0.0.5); any other text is looked up as a host name (0x0a.0.0.1
// too). Here IPv4 is the four-part dotted decimal without leading zeros, IPv6 is inet_pton's form (which the
// tool uses as well); leading zeros, short forms and host names are refused with a message that says why.
import { parseIPv4, parseIPv6, type ParsedIP } from '../inet/address.js';
import { parseNumberText } from './numbers.js';

/** Dotted quad, decimal parts without leading zeros, over [start, end) of `s`; undefined if not exactly that. */
const strictIPv4 = (s: string, start: number, end: number) => parseIPv4(s, start, end, true);

/** Why the ipset tool and this library do not agree on an IPv4-looking text (only called on failure). */
function whyNotIPv4(s: string): string {
  if (/^[0-9.]+$/.test(s) && !s.endsWith('.') && !s.includes('..')) {
    const parts = s.split('.');
    if (parts.some((p) => /^0\d/.test(p))) {
      return 'a part has a leading zero, which the ipset tool reads as octal (010 is 8); write the parts in decimal without leading zeros';
    }
    if (parts.length < 4) {
      return `it has ${parts.length} part${parts.length === 1 ? '' : 's'}; the ipset tool fills in zeros (10.1 is 10.0.0.1), write all four parts`;
    }
  }
  if (/[a-zA-Z]/.test(s) && !s.includes(':')) return 'host names are not resolved (the ipset tool would look it up); write the address';
  return 'expected a dotted-quad IPv4 or an IPv6 address';
}

/** One address (no prefix, no range), IPv4 or IPv6, as described above; undefined if it is not one. */
export function parseAddressText(s: string): ParsedIP | undefined {
  if (s.includes(':')) {
    // inet_pton takes an IPv4 tail only in strict dotted decimal, as strictIPv4 does.
    const colon = s.lastIndexOf(':');
    if (s.indexOf('.', colon) >= 0 && !strictIPv4(s, colon + 1, s.length)) return undefined;
    const b = parseIPv6(s);
    return b ? { family: 6, bytes: b } : undefined;
  }
  const b = strictIPv4(s, 0, s.length);
  return b ? { family: 4, bytes: b } : undefined;
}

/** parseAddressText that throws a TypeError naming the text and the reason. */
export function requireAddress(s: string, what: string): ParsedIP {
  const ip = parseAddressText(s);
  if (!ip) throw new TypeError(`invalid ${what} '${s}': ${whyNotIPv4(s)}`);
  return ip;
}

export interface AddressPart {
  ip: ParsedIP;
  /** Prefix length, when the text had `/N`. */
  cidr?: number;
  /** Range end, when the text had `a-b`. */
  to?: ParsedIP;
}

/** An address part of an element: `a`, `a/prefix` or `a-b` (the prefix read by parseNumberText). */
export function parseAddressPart(text: unknown, what: string): AddressPart {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string, got ${typeof text}`);
  const s = text.trim();
  let m: number;
  if ((m = s.indexOf('/')) >= 0) {
    const ip = requireAddress(s.slice(0, m), what);
    const cidr = parseNumberText(s.slice(m + 1), `prefix length in '${s}'`, ip.family === 4 ? 32 : 128);
    return { ip, cidr };
  }
  // IPv6 addresses contain no '-', so a dash always means a range.
  if ((m = s.indexOf('-')) >= 0) {
    const ip = requireAddress(s.slice(0, m), `range start in '${s}'`);
    const to = requireAddress(s.slice(m + 1), `range end in '${s}'`);
    if (ip.family !== to.family) throw new TypeError(`IP range '${s}' mixes IPv4 and IPv6`);
    return { ip, to };
  }
  return { ip: requireAddress(s, what) };
}
