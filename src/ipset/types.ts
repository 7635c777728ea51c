// The set types: what an element of each is made of and which family it lives in. Element parts
// ("dimensions") map onto netlink attributes the same way for every type, so one encoder serves all.

/** One part of an element: 'ip'/'net' (first address), 'ip2'/'net2' (second), 'port', 'mac', 'iface', 'set', 'mark'. */
export type Dim = 'ip' | 'net' | 'ip2' | 'net2' | 'port' | 'mac' | 'iface' | 'set' | 'mark';

/** The kind of a set type: the part before the `:` of `hash:ip`. */
export type SetKind = 'hash' | 'bitmap' | 'list';

/** What a set type is made of, as SET_TYPES lists it. */
export interface SetTypeInfo {
  /** The type's name, as `ipset create NAME TYPE` takes it: `hash:ip,port`. */
  name: string;
  /** `hash`, `bitmap` or `list`. */
  kind: SetKind;
  /** The parts of an element, in order: `['ip', 'port']` for hash:ip,port. */
  dims: Dim[];
  /** Families the type accepts; bitmap:port and list:set are family-less (NFPROTO_UNSPEC). */
  families: ('inet' | 'inet6' | 'unspec')[];
}

const T = (name: string, kind: SetKind, families: SetTypeInfo['families']): SetTypeInfo => ({
  name,
  kind,
  dims: etypeDims(name.slice(name.indexOf(':') + 1)),
  families,
});

/** 'ip,port,net' -> ['ip', 'port', 'net2']: the second address-like part uses the IP2 attributes. */
export function etypeDims(etype: string): Dim[] {
  const parts = etype.split(',').map((p) => p.trim());
  let addresses = 0;
  return parts.map((p) => {
    switch (p) {
      case 'ip':
      case 'net':
        return (addresses++ === 0 ? p : `${p}2`) as Dim;
      case 'port':
      case 'mac':
      case 'iface':
      case 'set':
      case 'mark':
        return p;
      default:
        throw new TypeError(`unknown element type '${p}' in '${etype}' (expected ip, net, port, mac, iface, set or mark)`);
    }
  });
}

const IPV = ['inet', 'inet6'] as SetTypeInfo['families'];

/** Every set type the kernel's ipset offers, by name. Equivalent to: `ipset help` (its type list) */
export const SET_TYPES: Record<string, SetTypeInfo> = Object.fromEntries(
  [
    T('hash:ip', 'hash', IPV),
    T('hash:net', 'hash', IPV),
    T('hash:ip,port', 'hash', IPV),
    T('hash:net,port', 'hash', IPV),
    T('hash:net,iface', 'hash', IPV),
    T('hash:ip,port,ip', 'hash', IPV),
    T('hash:ip,port,net', 'hash', IPV),
    T('hash:ip,mark', 'hash', IPV),
    T('hash:ip,mac', 'hash', ['inet']),
    T('hash:mac', 'hash', ['unspec']),
    T('hash:net,net', 'hash', IPV),
    T('hash:net,port,net', 'hash', IPV),
    T('bitmap:ip', 'bitmap', ['inet']),
    T('bitmap:ip,mac', 'bitmap', ['inet']),
    T('bitmap:port', 'bitmap', ['unspec']),
    T('list:set', 'list', ['unspec']),
  ].map((t) => [t.name, t]),
);

export function setType(name: string): SetTypeInfo {
  const t = SET_TYPES[name];
  if (!t) throw new TypeError(`unknown set type '${name}' (known: ${Object.keys(SET_TYPES).join(', ')})`);
  return t;
}

export function kindOf(typeName: string | undefined): SetKind | undefined {
  if (!typeName) return undefined;
  const k = typeName.slice(0, typeName.indexOf(':'));
  return k === 'hash' || k === 'bitmap' || k === 'list' ? k : undefined;
}

export type FamilyName = 'inet' | 'inet6';

/** 'inet' | 'inet6' | 2 | 10 | 'ipv4' | 'ipv6' to NFPROTO_*. */
export function familyNumber(f: string | number | undefined, fallback = 2): number {
  if (f === undefined || f === null) return fallback;
  if (f === 2 || f === 'inet' || f === 'ipv4' || f === 4) return 2;
  if (f === 10 || f === 'inet6' || f === 'ipv6' || f === 6) return 10;
  if (f === 0 || f === 'unspec') return 0;
  throw new TypeError(`unknown family ${JSON.stringify(f)} (use 'inet' or 'inet6')`);
}

export function familyName(n: number): 'inet' | 'inet6' | 'unspec' {
  return n === 2 ? 'inet' : n === 10 ? 'inet6' : 'unspec';
}
