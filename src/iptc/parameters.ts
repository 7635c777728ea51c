// Parameter values in python-iptables' conventions, and the extensions' save() text split back into them.
import type { ExtensionOption } from '../xtables/shim.js';

/** A parameter value: one argument, several arguments, or a flag (`true` / `''`). `!` first inverts. */
export type ParameterValue = string | number | boolean | readonly (string | number)[];

const optionNames = new Map<string, string>();

/** `dport`, `match-set`, `match_set` and `matchSet` all name the option `--match-set`. */
export function optionName(name: string): string {
  const known = optionNames.get(name);
  if (known !== undefined) return known;
  if (typeof name !== 'string' || name === '') throw new TypeError('a parameter name must be a non-empty string');
  const dashed = name
    .replace(/^--/, '')
    .replace(/_/g, '-')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
  if (!/^[a-z0-9][a-z0-9-]*$/.test(dashed)) throw new TypeError(`"${name}" is not a valid parameter name`);
  if (optionNames.size < 10_000) optionNames.set(name, dashed);
  return dashed;
}

/** Turns a user's value into one option: a leading `!` (or a first element `'!'`) inverts. */
export function toOption(name: string, value: ParameterValue): ExtensionOption {
  if (value === true || value === '') return { name, values: [], invert: false };
  if (typeof value === 'number') return { name, values: [String(value)], invert: false };
  if (typeof value === 'string') {
    if (value.startsWith('!')) {
      const rest = value.slice(1).trim();
      return { name, values: rest === '' ? [] : [rest], invert: true };
    }
    return { name, values: [value], invert: false };
  }
  if (Array.isArray(value)) {
    const words = value.map((v) => {
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw new TypeError(`values of --${name} must be strings or numbers`);
      }
      return String(v);
    });
    if (words[0] === '!') return { name, values: words.slice(1), invert: true };
    if (words[0]?.startsWith('!')) return { name, values: [words[0].slice(1).trim(), ...words.slice(1)], invert: true };
    return { name, values: words, invert: false };
  }
  throw new TypeError(`value of --${name} must be a string, number, boolean or array, got ${typeof value}`);
}

/** Splits text the way a POSIX shell would (quotes and backslashes), as iptables-save output is read. */
export function shellSplit(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      inWord = true;
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) i++;
        word += text[i];
      }
      if (i >= text.length) throw new SyntaxError(`unterminated double quote in: ${text}`);
    } else if (ch === "'") {
      inWord = true;
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxError(`unterminated single quote in: ${text}`);
      word += text.slice(i + 1, end);
      i = end;
    } else if (ch === '\\' && i + 1 < text.length) {
      inWord = true;
      word += text[++i];
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      inWord = true;
      word += ch;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The options an extension's save() text describes, in order. */
export function optionsFromSaveText(text: string): ExtensionOption[] {
  const words = shellSplit(text);
  const options: ExtensionOption[] = [];
  let invertNext = false;
  let current: ExtensionOption | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const isOption = (w: string | undefined) => w !== undefined && w.startsWith('--') && w.length > 2;
    if (word === '!') {
      // `! --opt` inverts the next option; the older `--opt ! value` form inverts the current one.
      if (isOption(words[i + 1]) || !current || current.values.length > 0) invertNext = true;
      else current.invert = true;
      continue;
    }
    if (isOption(word)) {
      current = { name: word.slice(2), values: [], invert: invertNext };
      invertNext = false;
      options.push(current);
      continue;
    }
    if (current) current.values.push(word);
  }
  return options;
}
