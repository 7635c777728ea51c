// The words of ipset's text format: set names, interface names and comments, as `ipset save` prints them and
// `ipset restore` reads them back. save prints them as they are (a comment between double quotes); restore
// splits a line at spaces, tabs and line ends, toggles quoting at every `"`, and takes `-exist`, `-q`,
// `-o FORMAT` and the tool's other global options out of a line wherever they stand. A word that holds such
// characters, or is such an option, does not come back as it went out: a comment `x" nomatch "` turned a
// blocked range into an exception after save and restore. Such words are refused when they are written,
// and save() refuses to print one that another program put in the kernel.
import { constants } from 'node:os';
import { IPSET_MAX_COMMENT_SIZE, IPSET_MAXNAMELEN } from './constants.js';
import { IPSetError } from './errors.js';

/** The ipset tool's global options, which its restore takes out of any line (also with a second dash). */
const GLOBAL_OPTIONS = new Set(['-o', '-output', '-s', '-sorted', '-q', '-quiet', '-r', '-resolve', '-!', '-exist', '-n', '-name', '-t', '-terse', '-f', '-file']);

/** Whether ipset restore would read this word as one of its global options. */
export function isGlobalOption(word: string): boolean {
  return GLOBAL_OPTIONS.has(word.startsWith('--') ? word.slice(1) : word);
}

/** Whether a word is `-exist` (or `-!`) for ipset restore. */
export function isExistOption(word: string): boolean {
  const w = word.startsWith('--') ? word.slice(1) : word;
  return w === '-exist' || w === '-!';
}

/** The C library's isspace: the characters ipset trims at the start of a restore line. */
export const C_SPACE = /[ \t\n\v\f\r]/;

/** Why a bare word (a set name, an element) cannot stand in ipset's text, or undefined if it can. */
export function wordProblem(word: string): string | undefined {
  if (C_SPACE.test(word)) return 'it contains white space, which splits a line of ipset restore';
  if (word.includes('"')) return 'it contains ", which starts or ends a quoted word in ipset restore';
  if (isGlobalOption(word)) return `ipset restore reads '${word}' as its own option`;
  return undefined;
}

/** Why a comment cannot be carried by `ipset save` text, or undefined if it can. */
export function commentProblem(c: string): string | undefined {
  if (c.includes('"')) return 'the " character is not permitted in comments (the ipset tool refuses it: ipset save could not quote it)';
  if (c.includes('\n')) return 'a line break in a comment would end the line in ipset save text';
  if (c.includes('\0')) return 'a comment cannot contain NUL characters';
  if (isGlobalOption(c)) return `ipset restore would read the comment '${c}' as its own option`;
  if (Buffer.byteLength(c) > IPSET_MAX_COMMENT_SIZE) return `the comment is longer than ${IPSET_MAX_COMMENT_SIZE} bytes (ipset's limit)`;
  return undefined;
}

/** A comment for an element: a string that ipset save can carry, else IPSetError (EINVAL). */
export function checkComment(c: unknown): string {
  if (typeof c !== 'string') throw new TypeError(`comment must be a string, got ${c === null ? 'null' : typeof c}`);
  const problem = commentProblem(c);
  if (problem) throw new IPSetError(constants.errno.EINVAL, { command: 'add' }, problem);
  return c;
}

/** A set name that refers to a set (it may exist already, made by anyone): a string of 1..31 bytes. */
export function checkSetName(name: unknown, what = 'set name'): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string, got ${name === null ? 'null' : typeof name}`);
  if (name.length === 0) throw new RangeError(`${what} must not be empty`);
  if (Buffer.byteLength(name) >= IPSET_MAXNAMELEN) throw new RangeError(`${what} '${name}' is too long (at most ${IPSET_MAXNAMELEN - 1} bytes)`);
  if (name.includes('\0')) throw new RangeError(`${what} must not contain NUL`);
}

/**
 * A name for a set this call makes (create, rename): checkSetName, and a word ipset's text can carry.
 * A ',' is refused too: in a list:set element the tool reads `a,b` as `a,before|after,b`.
 */
export function checkNewSetName(name: unknown, command: string, what = 'set name'): asserts name is string {
  checkSetName(name, what);
  const problem = wordProblem(name) ?? (name.includes(',') ? "it contains ',', which the ipset tool splits in a list:set element" : undefined);
  if (problem) throw new IPSetError(constants.errno.EINVAL, { command, setName: name }, `the ${what} '${name}' cannot be used: ${problem}`);
}
