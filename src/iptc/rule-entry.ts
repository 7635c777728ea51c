// A rule's kernel entry (ipt_entry / ip6t_entry) laid out from its header fields and its extensions'
// blobs, as iptables lays one out before handing it to libiptc.
import { encodeHeaderInto, entryLayout, type EntryHeader } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import type { BuiltBlob } from './extension.js';

/** The largest rule entry: its size and offsets are 16-bit (ipt_entry's target_offset, next_offset). */
const MAX_ENTRY = 0xffff;

/** The matches' and the target's blobs of an entry, after every extension's final check. */
export interface EntryParts {
  matches: BuiltBlob[];
  target: BuiltBlob;
}

/**
 * Header, matches and target in one buffer: a new one, or the start of `into` when it is large enough.
 * RangeError for an entry past the 16-bit sizes of its header.
 */
export function assembleEntry(family: Family, header: EntryHeader, parts: EntryParts, into?: Buffer): Buffer {
  const l = entryLayout(family);
  const matches = parts.matches;
  let size = l.header + parts.target.blob.length;
  for (let i = 0; i < matches.length; i++) size += matches[i]!.blob.length;
  if (size > MAX_ENTRY) {
    throw new RangeError(
      `the rule is ${size} bytes with its ${matches.length} matches; a rule entry holds at most ${MAX_ENTRY} bytes ` +
        '(its size is 16-bit)',
    );
  }
  const entry = into && into.length >= size ? into : Buffer.allocUnsafe(size);
  encodeHeaderInto(family, header, entry);
  let at = l.header;
  for (let i = 0; i < matches.length; i++) {
    const blob = matches[i]!.blob;
    entry.set(blob, at);
    at += blob.length;
  }
  entry[l.targetOffset] = at & 0xff;
  entry[l.targetOffset + 1] = at >> 8;
  entry.set(parts.target.blob, at);
  entry[l.nextOffset] = size & 0xff;
  entry[l.nextOffset + 1] = size >> 8;
  return entry;
}
