// Whether two rules read from views of a table are the same rule, as `iptables -D RULE` decides: what a
// change by position checks before it acts on a rule of another view than the one it was made on.
import { EXTENSION_HEADER, deleteMask, extensionName, extensionRevision, sameEntry, splitEntry } from './entry.js';
import type { RawRule } from './libiptc.js';
import { extensionUserspacesize, type ExtensionKind, type Family } from './shim.js';

/** The data bytes of an extension that say what it means (the rest is the kernel's private state). */
function userspacesize(kind: ExtensionKind, family: Family, blob: Buffer): number {
  try {
    return extensionUserspacesize(kind, family, extensionName(blob), extensionRevision(blob));
  } catch {
    // An extension libxtables does not know: compare all of it (a difference then refuses, never guesses).
    return blob.length - EXTENSION_HEADER;
  }
}

/** A copy of a standard-target entry without its target's name and verdict (the label says both). */
function withoutTarget(entry: Buffer, targetOffset: number): Buffer {
  const copy = Buffer.from(entry);
  copy.fill(0, targetOffset + 2);
  return copy;
}

/**
 * Whether `a` and `b`, each read from a view of the same table (a libiptc handle, before or after
 * changes), are the same rule: the same header fields, matches and target, each compared over the bytes
 * a delete by specification compares. Counters and kernel bookkeeping are ignored. A verdict or jump is
 * compared by its label: its bytes hold an offset that moves whenever the table does.
 */
export function sameRule(family: Family, a: RawRule, b: RawRule): boolean {
  if (a.standard !== b.standard || a.label !== b.label || a.entry.length !== b.entry.length) return false;
  const parts = splitEntry(family, a.entry);
  const targetOffset = a.entry.length - parts.target.length;
  const matches = parts.matches.map((blob) => ({ blob, userspacesize: userspacesize('match', family, blob) }));
  const target = { blob: parts.target, userspacesize: a.standard ? 0 : userspacesize('target', family, parts.target) };
  const mask = deleteMask(family, matches, target);
  if (!a.standard) return sameEntry(family, a.entry, b.entry, mask);
  return sameEntry(family, withoutTarget(a.entry, targetOffset), withoutTarget(b.entry, targetOffset), mask);
}
