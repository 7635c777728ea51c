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
  if (/[\s\0]/.test(name) || /[^\x21-\x7e]/.test(name)) throw new TypeError(`Invalid chain name \`${name}'`);
}
