// Parameter values in python-iptables' conventions, and the extensions' save() text split back into them.
import type { ExtensionOption, OptionSpec } from '../xtables/shim.js';
import { splitPlainWords, splitRuleWords } from './words.js';

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

/**
 * Turns a user's value into one option: a string's leading `!` inverts (`'!80'`), as does a list's first
 * element `'!'` (`['!', '80']`); a list's other elements are values as they are (`['!x']` is `!x`).
 */
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
    // Only a `'!'` of its own inverts a list: `['!x']` is the value `!x` (a comment, a string to match).
    if (words[0] === '!') return { name, values: words.slice(1), invert: true };
    return { name, values: words, invert: false };
  }
  throw new TypeError(`value of --${name} must be a string, number, boolean or array, got ${typeof value}`);
}

const NONE_QUOTED: readonly boolean[] = [];

/**
 * The options an extension's save() text describes, in order. The text is split as iptables-restore
 * splits it; a word written in double quotes is always a value (a comment `"--> x"` or `"!"`), and with
 * `specs` (the extension's options) an option that takes an argument takes the next word whatever it
 * looks like, as getopt does (`--comment --x` is the comment `--x`).
 */
export function optionsFromSaveText(text: string, specs?: readonly OptionSpec[] | null): ExtensionOption[] {
  const { words, quoted } = text.indexOf('"') < 0 ? { words: splitPlainWords(text), quoted: NONE_QUOTED } : splitRuleWords(text);
  const options: ExtensionOption[] = [];
  const isOption = (k: number) => k < words.length && !quoted[k] && words[k]!.startsWith('--') && words[k]!.length > 2;
  let invertNext = false;
  let current: ExtensionOption | undefined;
  let needsValue = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '!' && !quoted[i]) {
      // `! --opt` inverts the next option; the older `--opt ! value` form inverts the current one.
      if (isOption(i + 1) || !current || current.values.length > 0) invertNext = true;
      else current.invert = true;
      continue;
    }
    if (current && needsValue) {
      current.values.push(word);
      needsValue = false;
      continue;
    }
    if (isOption(i)) {
      const name = word.slice(2);
      current = { name, values: [], invert: invertNext };
      needsValue = specs?.find((o) => o.name === name)?.hasArg === 1;
      invertNext = false;
      options.push(current);
      continue;
    }
    if (current) current.values.push(word);
  }
  return options;
}
