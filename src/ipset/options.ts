// Options objects (create, add, entry extensions, WiSet, restore). A key whose value is undefined or null is
// a value that went missing (a config entry that was never set), not a request for the default: read as
// "absent", `{ nomatch: cfg.exception }` would turn an exception into a match. A key this call does not know
// (a typo, or `__proto__` from JSON.parse) would be ignored the same way. Both are TypeErrors.

/** Throws unless `o` is a plain options object whose keys are all in `known` and none undefined or null. */
export function checkOptions(o: unknown, known: ReadonlySet<string>, what: string): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new TypeError(`${what} must be an object, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`);
  }
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new TypeError(`${what}: unknown option '${k}' (known: ${[...known].join(', ')})`);
    const v = (o as Record<string, unknown>)[k];
    if (v === undefined || v === null) {
      throw new TypeError(`${what}: '${k}' is ${String(v)}; leave the key out for the default, or give a value`);
    }
  }
}

/** The extension and layout options of one element (EntryOptions). */
export const ENTRY_OPTIONS: ReadonlySet<string> = new Set([
  'etype', 'family', 'timeout', 'comment', 'packets', 'bytes', 'skbmark', 'skbprio', 'skbqueue', 'nomatch', 'physdev',
  'wildcard', 'before', 'after',
]);

/** add/delete options (AddOptions): the entry options and `exclusive`. */
export const ADD_OPTIONS: ReadonlySet<string> = new Set([...ENTRY_OPTIONS, 'exclusive']);

/** An element with its own options (EntryWithOptions), as addMany() takes it. */
export const ITEM_OPTIONS: ReadonlySet<string> = new Set([...ENTRY_OPTIONS, 'entry']);

export const CREATE_OPTIONS: ReadonlySet<string> = new Set([
  'stype', 'family', 'exclusive', 'counters', 'comment', 'skbinfo', 'forceadd', 'maxelem', 'hashsize', 'timeout',
  'bitmapPortsRange', 'range', 'size', 'netmask', 'bitmask', 'bucketsize', 'initval', 'markmask', 'revision',
]);

/** A flag option: true or false, never a truthy string such as 'false'. */
export function flag(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${what} must be true or false, got ${typeof v === 'string' ? `'${v}'` : String(v)}`);
  return v;
}
