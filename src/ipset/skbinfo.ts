// The skbinfo extension's values (skbmark, skbprio) in the forms the ipset tool prints and reads: the mark
// as `0xMARK` or `0xMARK/0xMASK` (the tool reads nothing else; pyroute2 reads such strings as hex too), the
// priority as tc's `MAJOR:MINOR` in hex.
import type { EntryOptions } from './entry.js';
import { intOption } from './numbers.js';

const MARK_RE = /^0x([0-9a-fA-F]+)(?:\/0x([0-9a-fA-F]+))?$/;

/** [mark, mask] from `'0x10'`, `'0x10/0xff'`, a number (mask 0xffffffff) or [mark, mask]. */
export function parseSkbmark(v: EntryOptions['skbmark']): [number, number] {
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new TypeError('skbmark as an array is [mark, mask]');
    return [intOption(v[0], 'skbmark'), intOption(v[1], 'skbmark mask')];
  }
  if (typeof v === 'number') return [intOption(v, 'skbmark'), 0xffffffff];
  if (typeof v === 'string') {
    const m = MARK_RE.exec(v);
    if (!m) throw new TypeError(`skbmark '${v}' must be hex as the ipset tool reads it: '0x10' or '0x10/0xff' (or a number, or [mark, mask])`);
    const mark = parseInt(m[1]!, 16);
    const mask = m[2] === undefined ? 0xffffffff : parseInt(m[2], 16);
    if (mark > 0xffffffff || mask > 0xffffffff) throw new RangeError(`skbmark '${v}': mark and mask are 32-bit values`);
    return [mark, mask];
  }
  throw new TypeError('skbmark must be a string like "0x10/0xff", a number or [mark, mask]');
}

/** [major, minor] from tc's `'1:2'` (hex) or [major, minor]. */
export function parseSkbprio(v: EntryOptions['skbprio']): [number, number] {
  let pair: [number, number];
  if (Array.isArray(v) && v.length === 2) pair = [v[0], v[1]];
  else if (typeof v === 'string' && /^[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(v)) {
    const [a, b] = v.split(':');
    pair = [parseInt(a!, 16), parseInt(b!, 16)];
  } else throw new TypeError(`skbprio must be 'major:minor' (hex, as tc writes it) or [major, minor], got ${String(v)}`);
  for (const x of pair) if (!Number.isInteger(x) || x < 0 || x > 0xffff) throw new RangeError('skbprio major and minor must be 0..0xffff');
  return pair;
}
