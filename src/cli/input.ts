// Reading a command's input text: a file argument, or standard input (as iptables-restore and ipset
// restore read it).
import { readFileSync } from 'node:fs';

export function readInput(positionals: string[], what: string): string {
  if (positionals.length > 1) throw new Error(`${what} takes at most one file, got ${positionals.length}`);
  const file = positionals[0];
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) throw new Error(`${what} reads its input from a file or standard input; give a file or pipe one in`);
    return readFileSync(0, 'utf8');
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}
