// `ipset save` text, byte for byte as the ipset tool prints it. A set that another program gave a name,
// element or comment that the text cannot carry (see words.ts) is refused instead of printed: its restore
// would make something else.
import { constants } from 'node:os';
import { formatEntryLine, type IPSetEntry } from './entry.js';
import { IPSetError } from './errors.js';
import { formatHeader, type IPSetInfo } from './header.js';
import { SET_TYPES } from './types.js';
import { commentProblem, wordProblem } from './words.js';

function unsavable(setName: string, problem: string): IPSetError {
  return new IPSetError(constants.errno.EINVAL, { command: 'save', setName }, `cannot be written as ipset save text: ${problem}`);
}

/** A set's `create` line, and the prefix of its `add` lines; throws when its name cannot be written. */
export function formatSetHeader(s: IPSetInfo): string {
  const nameProblem = wordProblem(s.name);
  if (nameProblem) throw unsavable(s.name, `the set name '${s.name}': ${nameProblem}`);
  const h = formatHeader(s.type, s.header);
  return h ? `create ${s.name} ${s.type} ${h}\n` : `create ${s.name} ${s.type}\n`;
}

/** The `add` lines of some of a set's entries; throws when one cannot be written. */
export function formatSetEntries(s: IPSetInfo, entries: readonly IPSetEntry[]): string {
  const prefix = `add ${s.name} `;
  // Only interface and set names reach an element's text as the kernel holds them; addresses, ports,
  // marks and MACs are printed here and cannot hold such characters.
  const names = !(Object.hasOwn(SET_TYPES, s.type) && !SET_TYPES[s.type]!.dims.some((d) => d === 'iface' || d === 'set'));
  let text = '';
  for (const e of entries) {
    const problem = (names ? wordProblem(e.entry) : undefined) ?? (e.comment === undefined ? undefined : commentProblem(e.comment));
    if (problem) throw unsavable(s.name, `the element '${e.entry}': ${problem}`);
    text += `${prefix}${formatEntryLine(e)}\n`;
  }
  return text;
}
