import { EXTENSION_MAXNAMELEN } from '../xtables/entry.js';

/** The rules iptables applies to user chain names. */
export function checkChainName(name: string): void {
  if (typeof name !== 'string') throw new TypeError(`a chain name must be a string, got ${typeof name}`);
  if (name === '') throw new TypeError('a chain name must not be empty');
  if (name.length >= EXTENSION_MAXNAMELEN) {
    throw new RangeError(`chain name \`${name}' too long (must be under ${EXTENSION_MAXNAMELEN} chars)`);
  }
  if (name.startsWith('-') || name.startsWith('!')) {
    throw new TypeError(`chain name not allowed to start with \`${name[0]}'`);
  }
  // Printable ASCII without space (which leaves out white space and NUL too); a loop, not a regular
  // expression: this runs for every jump of every rule parsed.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new TypeError(`Invalid chain name \`${name}'`);
  }
}
