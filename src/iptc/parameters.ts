// Parameter values in python-iptables' conventions, and the extensions' save() text split back into them.
import type { ExtensionOption, OptionSpec } from '../xtables/shim.js';
import { splitPlainWords, splitRuleWords } from './words.js';
import { RecentStrings } from '../xtables/recent-strings.js';

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

// Extension.parameters reads thousands of save() texts when a large table is read back: the common text
// (plain words, quoted words without escapes) is read here from the text itself, making only the strings
// the result holds; any other text takes the general path above.

/** Per token of the text read last: start, end, and 1 when it was written in double quotes. */
let tokens = new Int32Array(96);

/**
 * The words of `text` as splitRuleWords splits it, as spans into `tokens`; -1 where a word is not a plain
 * span of the text (a quote inside a word, a backslash or no end inside quotes).
 */
function tokenize(text: string): number {
  const length = text.length;
  let n = 0;
  let i = 0;
  while (i < length) {
    let c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10) {
      i++;
      continue;
    }
    if (3 * n + 3 > tokens.length) {
      const grown = new Int32Array(tokens.length * 2);
      grown.set(tokens);
      tokens = grown;
    }
    const quoted = c === 34;
    const start = quoted ? i + 1 : i;
    i = start;
    for (; i < length; i++) {
      c = text.charCodeAt(i);
      if (quoted ? c === 34 || c === 92 : c === 32 || c === 9 || c === 10 || c === 34) break;
    }
    if (quoted && (i >= length || c === 92)) return -1;
    if (!quoted && i < length && c === 34) return -1;
    tokens[3 * n] = start;
    tokens[3 * n + 1] = i;
    tokens[3 * n + 2] = quoted ? 1 : 0;
    n++;
    // A closing quote ends its word.
    if (quoted) i++;
  }
  return n;
}

/** Which names of an option list take an argument (the first entry of a name decides, as a search finds it). */
const takingArgument = new WeakMap<readonly OptionSpec[], ReadonlySet<string>>();
let lastSpecs: readonly OptionSpec[] | null = null;
let lastTaking: ReadonlySet<string> | null = null;

function argumentTaking(specs: readonly OptionSpec[]): ReadonlySet<string> {
  if (specs === lastSpecs) return lastTaking!;
  let taking = takingArgument.get(specs);
  if (!taking) {
    const seen = new Set<string>();
    const names = new Set<string>();
    for (const o of specs) {
      if (seen.has(o.name)) continue;
      seen.add(o.name);
      if (o.hasArg === 1) names.add(o.name);
    }
    taking = names;
    takingArgument.set(specs, taking);
  }
  lastSpecs = specs;
  lastTaking = taking;
  return taking;
}

/**
 * The parameters an extension's save() text describes, as Extension.parameters gives them: each option's
 * values joined by spaces; an inverted option, or one whose first value is `!`, reads `!...`; a later
 * option of a name replaces an earlier one. Options are found as optionsFromSaveText finds them.
 */
export function parametersFromSaveText(text: string, specs?: readonly OptionSpec[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  const count = tokenize(text);
  if (count < 0) {
    for (const o of optionsFromSaveText(text, specs)) {
      const v = o.values;
      out[o.name] = o.invert ? `!${joined(v, 0)}` : v[0] === '!' ? `!${joined(v, 1)}` : joined(v, 0);
    }
    return out;
  }
  const taking = specs ? argumentTaking(specs) : null;
  // The option being read: its name, inversion, first value and the others joined.
  let name: string | null = null;
  let invert = false;
  let values = 0;
  let first = '';
  let rest = '';
  let invertNext = false;
  let needsValue = false;
  for (let k = 0; k < count; k++) {
    const start = tokens[3 * k]!;
    const end = tokens[3 * k + 1]!;
    if (tokens[3 * k + 2] === 0 && end - start === 1 && text.charCodeAt(start) === 33) {
      if (isOptionToken(text, k + 1, count) || name === null || values > 0) invertNext = true;
      else invert = true;
      continue;
    }
    if (name !== null && (needsValue || !isOptionToken(text, k, count))) {
      const word = text.slice(start, end);
      if (values === 0) first = word;
      else rest = values === 1 ? word : `${rest} ${word}`;
      values++;
      needsValue = false;
      continue;
    }
    // Words before the first option are no option's.
    if (!isOptionToken(text, k, count)) continue;
    if (name !== null) out[name] = savedValue(invert, values, first, rest);
    name = recentOptionNames.fromText(text, start + 2, end);
    invert = invertNext;
    values = 0;
    first = '';
    rest = '';
    needsValue = taking !== null && taking.has(name);
    invertNext = false;
  }
  if (name !== null) out[name] = savedValue(invert, values, first, rest);
  return out;
}

/** Option names read lately: a table's rules name the same few options again and again. */
const recentOptionNames = new RecentStrings(16);

/** Whether token `k` of `count` is an option name: `--` and more, not quoted. */
function isOptionToken(text: string, k: number, count: number): boolean {
  if (k >= count || tokens[3 * k + 2] !== 0) return false;
  const start = tokens[3 * k]!;
  return tokens[3 * k + 1]! - start > 2 && text.charCodeAt(start) === 45 && text.charCodeAt(start + 1) === 45;
}

/** An option's value as `parameters` gives it, from its first value and the others joined. */
function savedValue(invert: boolean, values: number, first: string, rest: string): string {
  const all = values === 0 ? '' : values === 1 ? first : `${first} ${rest}`;
  return invert ? `!${all}` : values > 0 && first === '!' ? `!${rest}` : all;
}

/** The values from `from` on, space-separated (Array.join costs more than the one value most options have). */
function joined(values: readonly string[], from: number): string {
  if (values.length === from + 1) return values[from]!;
  let text = '';
  for (let i = from; i < values.length; i++) text += i === from ? values[i]! : ` ${values[i]!}`;
  return text;
}
