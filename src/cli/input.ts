// Reading a command's input text: a file argument, or standard input (as iptables-restore and ipset
// restore read it).
import { readFileSync } from 'node:fs';
import { decodeBytes } from '../xtables/text.js';

/**
 * The input as text. With `bytes`, bytes that are not UTF-8 are kept as iptc's escapes (see
 * docs/meaning.md), so that a rule's non-UTF-8 comment restores byte for byte.
 */
export function readInput(positionals: string[], what: string, bytes = false): string {
  const read = (source: number | string) => (bytes ? decodeBytes(readFileSync(source)) : readFileSync(source, 'utf8'));
  if (positionals.length > 1) throw new Error(`${what} takes at most one file, got ${positionals.length}`);
  const file = positionals[0];
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) throw new Error(`${what} reads its input from a file or standard input; give a file or pipe one in`);
    return read(0);
  }
  try {
    return read(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}
