// `ipset save` text, byte for byte as the ipset tool prints it. A set that another program gave a name,
// element or comment that the text cannot carry (see words.ts) is refused instead of printed: its restore
// would make something else.
import { constants } from 'node:os';
import { formatEntryLine } from './entry.js';
import { IPSetError } from './errors.js';
import { formatHeader, type IPSetInfo } from './header.js';
import { SET_TYPES } from './types.js';
import { commentProblem, wordProblem } from './words.js';

function unsavable(setName: string, problem: string): IPSetError {
  return new IPSetError(constants.errno.EINVAL, { command: 'save', setName }, `cannot be written as ipset save text: ${problem}`);
}

export function formatSave(sets: IPSetInfo[]): string {
  const out: string[] = [];
  for (const s of sets) {
    const nameProblem = wordProblem(s.name);
    if (nameProblem) throw unsavable(s.name, `the set name '${s.name}': ${nameProblem}`);
    const h = formatHeader(s.type, s.header);
    out.push(h ? `create ${s.name} ${s.type} ${h}\n` : `create ${s.name} ${s.type}\n`);
    const prefix = `add ${s.name} `;
    // Only interface and set names reach an element's text as the kernel holds them; addresses, ports,
    // marks and MACs are printed here and cannot hold such characters.
    const names = !(Object.hasOwn(SET_TYPES, s.type) && !SET_TYPES[s.type]!.dims.some((d) => d === 'iface' || d === 'set'));
    for (const e of s.entries) {
      const problem = (names ? wordProblem(e.entry) : undefined) ?? (e.comment === undefined ? undefined : commentProblem(e.comment));
      if (problem) throw unsavable(s.name, `the element '${e.entry}': ${problem}`);
      out.push(prefix + formatEntryLine(e) + '\n');
    }
  }
  return out.join('');
}
