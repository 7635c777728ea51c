// What the caller's thread and the owner thread say to each other. Everything here crosses by structured
// clone, so it is plain data: rules as specs or dictionaries, ipset port entries as tagged tuples, the
// rules of a chain column-wise.
import type { RuleDict } from '../easy/dict.js';
import type { TableOptions } from '../iptc/table.js';
import type { BackendName } from '../iptc/table-backend.js';
import { PortEntry, PortRange } from '../ipset/ports.js';
import type { WireError } from './errors.js';

/**
 * A rule on its way to the owner thread: a rule spec, its words, or an iptc/easy dictionary. A spec is
 * a bare string, so that many rules cross as an array of strings, the cheapest thing to send.
 */
export type WireRule = string | { words: readonly string[] } | { dict: RuleDict };

export type Request =
  | { op: 'openTable'; family: 4 | 6; name: string; options: TableOptions }
  | { op: 'openIPSet'; netns: string | undefined }
  | { op: 'call'; handle: number; method: string; args: unknown[] }
  | { op: 'close'; handle: number }
  | { op: 'stop' };

export type Envelope = Request & { id: number };

export type Reply = { id: number; value: unknown } | { id: number; error: WireError };

/** What opening a table answers: its handle and the settings it has. */
export interface OpenedTable {
  handle: number;
  autocommit: boolean;
  backend: BackendName;
}

/** The rules of a chain, column-wise: a few objects to receive, whatever the number of rules. */
export interface WireRules {
  specs: string[];
  /** packets, bytes, packets, bytes, ... */
  counters: BigUint64Array;
}

const PORT_ENTRY = '__iptcPortEntry';
const PORT_RANGE = '__iptcPortRange';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Replaces PortEntry and PortRange objects, which structured clone would turn into plain ones, by tags. */
export function encodePorts(value: unknown): unknown {
  if (value instanceof PortEntry) return { [PORT_ENTRY]: [value.port, value.protocol] };
  if (value instanceof PortRange) return { [PORT_RANGE]: [value.begin, value.end, value.protocol] };
  if (Array.isArray(value)) return value.some((v) => typeof v === 'object') ? value.map(encodePorts) : value;
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodePorts(v)]));
  return value;
}

/** The owner thread's side of encodePorts(). */
export function decodePorts(value: unknown): unknown {
  if (Array.isArray(value)) return value.some((v) => typeof v === 'object') ? value.map(decodePorts) : value;
  if (!isPlainObject(value)) return value;
  const entry = value[PORT_ENTRY];
  if (Array.isArray(entry)) return new PortEntry(entry[0] as number, entry[1] as number | undefined);
  const range = value[PORT_RANGE];
  if (Array.isArray(range)) return new PortRange(range[0] as number, range[1] as number, range[2] as number | undefined);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodePorts(v)]));
}
