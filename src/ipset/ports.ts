// Port entries: protocol names as /etc/protocols spells them (ipset prints getprotobynumber's name),
// service names from /etc/services, and ICMP/ICMPv6 types by name, which the kernel carries in the port
// field as type << 8 | code.
import { readFileSync } from 'node:fs';
import { numberShape, parseNumberText } from './numbers.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;

const FALLBACK_PROTOCOLS: [string, number][] = [
  ['ip', 0], ['icmp', 1], ['igmp', 2], ['tcp', 6], ['udp', 17], ['ipv6', 41], ['gre', 47], ['esp', 50],
  ['ah', 51], ['ipv6-icmp', 58], ['sctp', 132], ['udplite', 136],
];

let protoByName: Map<string, number> | undefined;
let protoByNumber: Map<number, string> | undefined;

function loadProtocols(): void {
  protoByName = new Map();
  protoByNumber = new Map();
  let rows: [string, number, string[]][] = [];
  try {
    for (const line of readFileSync('/etc/protocols', 'utf8').split('\n')) {
      const fields = line.replace(/#.*/, '').trim().split(/\s+/);
      if (fields.length < 2 || !/^\d+$/.test(fields[1]!)) continue;
      rows.push([fields[0]!, Number(fields[1]), fields.slice(2)]);
    }
  } catch {
    rows = [];
  }
  if (rows.length === 0) rows = FALLBACK_PROTOCOLS.map(([n, v]) => [n, v, []]);
  for (const [name, num, aliases] of rows) {
    if (!protoByNumber.has(num)) protoByNumber.set(num, name);
    for (const n of [name, ...aliases]) if (!protoByName.has(n.toLowerCase())) protoByName.set(n.toLowerCase(), num);
  }
}

/** A protocol number from a name ('tcp', 'icmpv6', 'ipv6-icmp') or number; undefined if unknown. */
export function protocolNumber(p: string | number): number | undefined {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 255 ? p : undefined;
  const s = p.trim().toLowerCase();
  // A number first, as the ipset tool reads it (`0x11` is udp; `017` would be its octal 15: refused).
  if (numberShape(s) !== 'none') return parseNumberText(s, 'protocol number', 255);
  if (s === 'icmpv6') return IPPROTO_ICMPV6;
  if (!protoByName) loadProtocols();
  return protoByName!.get(s);
}

/** The name ipset prints for a protocol number (getprotobynumber), or the number itself. */
export function protocolName(n: number): string {
  if (!protoByNumber) loadProtocols();
  return protoByNumber!.get(n) ?? String(n);
}

let services: Map<string, number> | undefined;

/** A port number for a service name ('http', 'domain') in a protocol, as getservbyname does. */
export function servicePort(name: string, proto: string): number | undefined {
  if (!services) {
    services = new Map();
    try {
      for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
        const f = line.replace(/#.*/, '').trim().split(/\s+/);
        const m = /^(\d+)\/(\w+)$/.exec(f[1] ?? '');
        if (!m) continue;
        for (const n of [f[0]!, ...f.slice(2)]) {
          const key = `${n}/${m[2]}`;
          if (!services.has(key)) services.set(key, Number(m[1]));
        }
      }
    } catch {
      // no /etc/services: only numeric ports
    }
  }
  return services.get(`${name}/${proto}`);
}

// [name, type, code]; the first name of a type/code pair is the one printed (as ipset does).
const ICMP_NAMES: [string, number, number][] = [
  ['echo-reply', 0, 0], ['pong', 0, 0],
  ['network-unreachable', 3, 0], ['host-unreachable', 3, 1], ['protocol-unreachable', 3, 2],
  ['port-unreachable', 3, 3], ['fragmentation-needed', 3, 4], ['source-route-failed', 3, 5],
  ['network-unknown', 3, 6], ['host-unknown', 3, 7], ['network-prohibited', 3, 9],
  ['host-prohibited', 3, 10], ['TOS-network-unreachable', 3, 11], ['TOS-host-unreachable', 3, 12],
  ['communication-prohibited', 3, 13], ['host-precedence-violation', 3, 14], ['precedence-cutoff', 3, 15],
  ['source-quench', 4, 0],
  ['network-redirect', 5, 0], ['host-redirect', 5, 1], ['TOS-network-redirect', 5, 2], ['TOS-host-redirect', 5, 3],
  ['echo-request', 8, 0], ['ping', 8, 0],
  ['router-advertisement', 9, 0], ['router-solicitation', 10, 0],
  ['ttl-zero-during-transit', 11, 0], ['ttl-zero-during-reassembly', 11, 1],
  ['ip-header-bad', 12, 0], ['required-option-missing', 12, 1],
  ['timestamp-request', 13, 0], ['timestamp-reply', 14, 0],
  ['address-mask-request', 17, 0], ['address-mask-reply', 18, 0],
];

const ICMPV6_NAMES: [string, number, number][] = [
  ['no-route', 1, 0], ['communication-prohibited', 1, 1], ['address-unreachable', 1, 3], ['port-unreachable', 1, 4],
  ['packet-too-big', 2, 0],
  ['ttl-zero-during-transit', 3, 0], ['ttl-zero-during-reassembly', 3, 1],
  ['bad-header', 4, 0], ['unknown-header-type', 4, 1], ['unknown-option', 4, 2],
  ['echo-request', 128, 0], ['ping', 128, 0], ['echo-reply', 129, 0], ['pong', 129, 0],
  ['router-solicitation', 133, 0], ['router-advertisement', 134, 0],
  ['neighbour-solicitation', 135, 0], ['neigbour-solicitation', 135, 0],
  ['neighbour-advertisement', 136, 0], ['neigbour-advertisement', 136, 0],
  ['redirect', 137, 0],
];

const isIcmp = (proto: number) => proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;

/** ICMP(v6) `name` or `type/code` to the kernel's port value (type << 8 | code). */
export function parseIcmp(s: string, proto: number): number {
  const table = proto === IPPROTO_ICMP ? ICMP_NAMES : ICMPV6_NAMES;
  const lower = s.toLowerCase();
  for (const [name, type, code] of table) if (name.toLowerCase() === lower) return (type << 8) | code;
  const slash = s.indexOf('/');
  if (slash > 0) {
    const what = proto === IPPROTO_ICMP ? 'ICMP' : 'ICMPv6';
    return (parseNumberText(s.slice(0, slash), `${what} type`, 255) << 8) | parseNumberText(s.slice(slash + 1), `${what} code`, 255);
  }
  throw new TypeError(`cannot parse '${s}' as an ${proto === IPPROTO_ICMP ? 'ICMP' : 'ICMPv6'} type/code (a name such as 'echo-request' or 'type/code')`);
}

export function formatIcmp(port: number, proto: number): string {
  const type = port >> 8;
  const code = port & 0xff;
  const table = proto === IPPROTO_ICMP ? ICMP_NAMES : ICMPV6_NAMES;
  for (const [name, t, c] of table) if (t === type && c === code) return name;
  return `${type}/${code}`;
}

function resolveProtocol(protocol: string | number | undefined | null): number | undefined {
  if (protocol === undefined || protocol === null || protocol === '') return undefined;
  const n = protocolNumber(protocol);
  if (n === undefined) throw new TypeError(`unknown protocol '${protocol}'`);
  if (n === 0) throw new RangeError('protocol 0 is not valid in an ipset entry');
  return n;
}

function resolvePort(port: number | string, proto: number | undefined, what: string): number {
  if (typeof port === 'number') {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${what} must be an integer 0..65535, got ${port}`);
    return port;
  }
  if (typeof port !== 'string') throw new TypeError(`${what} must be a number or a string`);
  if (proto !== undefined && isIcmp(proto)) return parseIcmp(port, proto);
  // A number first, then a service name, in the ipset tool's order (`0x50` is 80; `080` is refused).
  if (numberShape(port) !== 'none') return parseNumberText(port, what, 65535);
  const svc = servicePort(port, proto === IPPROTO_UDP ? 'udp' : proto === IPPROTO_SCTP ? 'sctp' : 'tcp');
  if (svc === undefined) throw new TypeError(`unknown service or invalid port '${port}'`);
  return svc;
}

/**
 * One port with an optional protocol, e.g. `new PortEntry(80, 'tcp')`, `new PortEntry('echo-request',
 * 'icmp')`. Equivalent to the `tcp:80` / `icmp:echo-request` element part of the ipset CLI.
 */
export class PortEntry {
  /** The port number (an ICMP type and code as `type << 8 | code`). */
  readonly port: number;
  /** Protocol number, or undefined (hash:*port* sets then default to tcp, as the ipset CLI does). */
  readonly protocol: number | undefined;

  /** A port by number or service name, with an optional protocol. Equivalent to: `tcp:80` in an ipset element */
  constructor(port: number | string, protocol?: string | number | null) {
    this.protocol = resolveProtocol(protocol);
    this.port = resolvePort(port, this.protocol, 'port');
  }

  /** An ICMP (or ICMPv6 with `v6`) type/code entry. */
  static icmp(type: number | string, code = 0, v6 = false): PortEntry {
    const proto = v6 ? 'ipv6-icmp' : 'icmp';
    if (typeof type === 'string') return new PortEntry(type, proto);
    if (![type, code].every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) throw new RangeError('ICMP type and code must be 0..255');
    return new PortEntry((type << 8) | code, proto);
  }

  /** The element part as the ipset command writes it: `tcp:80`, `icmp:echo-request`, `80`. */
  toString(): string {
    return formatPort(this.port, this.protocol);
  }
}

/** A port range `begin-end` with an optional protocol: `new PortRange(1000, 2000, 'udp')` is `udp:1000-2000`. */
export class PortRange {
  /** The first port of the range. */
  readonly begin: number;
  /** The last port of the range. */
  readonly end: number;
  /** Protocol number, or undefined (hash:*port* sets then default to tcp). */
  readonly protocol: number | undefined;

  /** A range of ports, with an optional protocol. Equivalent to: `udp:1000-2000` in an ipset element */
  constructor(begin: number | string, end: number | string, protocol?: string | number | null) {
    this.protocol = resolveProtocol(protocol);
    this.begin = resolvePort(begin, this.protocol, 'range begin');
    this.end = resolvePort(end, this.protocol, 'range end');
    if (this.end < this.begin) throw new RangeError(`port range end ${this.end} is below its begin ${this.begin}`);
  }

  /** The element part as the ipset command writes it: `udp:1000-2000`. */
  toString(): string {
    const p = this.protocol === undefined ? '' : `${protocolName(this.protocol)}:`;
    return `${p}${this.begin}-${this.end}`;
  }
}

/** Parses the CLI's port syntax: `80`, `80-81`, `udp:53`, `tcp:80-81`, `icmp:ping`, `ipv6-icmp:1/3`, `http`. */
export function parsePortSpec(s: string): PortEntry | PortRange {
  let proto: string | undefined;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    proto = s.slice(0, colon);
    rest = s.slice(colon + 1);
  }
  const pn = proto === undefined ? undefined : resolveProtocol(proto);
  if (pn !== undefined && isIcmp(pn)) return new PortEntry(rest, pn);
  if (pn !== undefined && pn !== IPPROTO_TCP && pn !== IPPROTO_UDP && pn !== IPPROTO_SCTP && pn !== IPPROTO_UDPLITE && rest !== '0') {
    throw new RangeError(`protocol ${proto} can be used with pseudo port value 0 only`);
  }
  const dash = rest.indexOf('-');
  if (dash > 0) return new PortRange(rest.slice(0, dash), rest.slice(dash + 1), pn);
  return new PortEntry(rest, pn);
}

/** What ipset prints for a port: `tcp:80`, `icmp:echo-request`, `ipv6-icmp:1/5`, or `80` without protocol. */
export function formatPort(port: number, proto: number | undefined): string {
  if (proto === undefined) return String(port);
  const name = protocolName(proto);
  return `${name}:${isIcmp(proto) ? formatIcmp(port, proto) : port}`;
}
