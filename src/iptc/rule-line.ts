// A rule line as the iptables command, iptables-save and go-iptables' List() write it: the rule spec
// after a command that names its chain (`-A INPUT`, `-I INPUT 2`), optionally after `-t TABLE` and,
// as `iptables-save -c` prints it, a `[packets:bytes]` counter prefix.
import type { Family } from '../xtables/shim.js';
import { compileSpec, ruleOf } from './compile.js';
import { RuleSyntaxError } from './errors.js';
import { parseRuleSpec, specWords, type AddressLists } from './parse.js';
import type { Rule } from './rule.js';
import { splitRuleWords } from './words.js';

/** The iptables command of a rule line: `-A`, `-I`, `-R`, `-D` (by spec) or `-C`. */
export type RuleCommand = 'append' | 'insert' | 'replace' | 'delete' | 'check';

/** A rule line taken apart by Rule.parseLine(). */
export interface RuleLine<R extends Rule = Rule> {
  /** The command the line gives: `-A` is `'append'`, `-I` `'insert'`, and so on. */
  command: RuleCommand;
  /** The chain the command names. */
  chain: string;
  /**
   * Where `-I` inserts and `-R` replaces, 0-based as Chain.insertRule() and replaceRule() take it
   * (`-I INPUT 3` is 2; `-I INPUT` is 0); undefined for the other commands.
   */
  position: number | undefined;
  /** The table `-t TABLE` names, or undefined when the line has no `-t`. */
  table: string | undefined;
  /** The rule; a `[packets:bytes]` prefix gives its counters, as `iptables-restore --counters` takes it. */
  rule: R;
}

const COMMANDS: Record<string, RuleCommand> = {
  '-A': 'append', '--append': 'append',
  '-I': 'insert', '--insert': 'insert',
  '-R': 'replace', '--replace': 'replace',
  '-D': 'delete', '--delete': 'delete',
  '-C': 'check', '--check': 'check',
};

const TABLE_OPTIONS = new Set(['-t', '--table']);

/** What a string line may start with for it to have a prefix (a rule spec never does). */
const PREFIXED_TEXT = /^\s*(?:\[|-[tAIRDC](?:\s|$)|--(?:table|append|insert|replace|delete|check)(?:\s|$))/;

interface Prefix {
  command: RuleCommand;
  chain: string;
  position: number | undefined;
  table: string | undefined;
}

function fail(message: string): never {
  throw new RuleSyntaxError(message);
}

/** The word after an option that needs one, as iptables' getopt refuses its absence. */
function argument(words: readonly string[], at: number, option: string): string {
  const word = words[at];
  if (word === undefined || word === '' || word.startsWith('-') || word.startsWith('!')) {
    fail(`option "${option}" requires an argument`);
  }
  return word;
}

/** iptables' parse_rulenumber: a decimal number from 1. */
function ruleNumber(word: string): number {
  const n = /^[0-9]+$/.test(word) ? Number(word) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) fail(`Invalid rule number \`${word}'`);
  return n;
}

/**
 * Takes the prefix off the words of a line; null when the line has none (a bare rule spec). Counters
 * become `--set-counters packets bytes` at the start of the spec, as iptables-restore --counters makes them.
 */
function takePrefix(words: readonly string[]): { prefix: Prefix | null; spec: string[] } {
  let at = 0;
  let counters: string[] = [];
  const first = words[0];
  if (first !== undefined && first.startsWith('[')) {
    const m = /^\[([0-9]+):([0-9]+)\]$/.exec(first);
    if (!m) fail(`Bad counters \`${first}': iptables-save -c writes them as [packets:bytes]`);
    counters = ['--set-counters', m[1]!, m[2]!];
    at = 1;
  }
  let table: string | undefined;
  if (TABLE_OPTIONS.has(words[at]!)) {
    table = argument(words, at + 1, words[at]!);
    at += 2;
  }
  const option = words[at];
  const command = option === undefined ? undefined : COMMANDS[option];
  if (command === undefined) {
    if (at === 0) return { prefix: null, spec: [...words] };
    fail(`a rule line needs a command after ${table === undefined ? 'its counters' : '-t'}: -A, -I, -R, -D or -C and a chain`);
  }
  const chain = argument(words, at + 1, option!);
  at += 2;
  let position: number | undefined;
  const next = words[at];
  if (command === 'insert') {
    // iptables takes the word after the chain as a rule number when it is not an option.
    position = next !== undefined && !next.startsWith('-') && !next.startsWith('!') ? ruleNumber(next) - 1 : 0;
    if (next !== undefined && !next.startsWith('-') && !next.startsWith('!')) at++;
  } else if (command === 'replace') {
    position = ruleNumber(argument(words, at, option!)) - 1;
    at++;
  } else if (command === 'delete' && next !== undefined && /^[0-9]+$/.test(next)) {
    fail(`\`${option} ${chain} ${next}' deletes a rule by its number: it holds no rule`);
  }
  return { prefix: { command, chain, position, table }, spec: [...counters, ...words.slice(at)] };
}

function wordsOf(line: string | readonly string[]): readonly string[] {
  if (typeof line === 'string') return splitRuleWords(line).words;
  if (Array.isArray(line)) return line as readonly string[];
  throw new TypeError('a rule line must be a string or an array of strings');
}

/** See Rule.parseLine. */
export function parseRuleLine<R extends Rule>(RuleClass: new () => R, line: string | readonly string[]): RuleLine<R> {
  const { prefix, spec } = takePrefix(wordsOf(line));
  if (prefix === null) {
    fail('a rule line starts with a command and its chain (-A CHAIN, -I CHAIN [n], ...); use Rule.parse for a bare rule spec');
  }
  const rule = parseRuleSpec(new RuleClass(), spec);
  const { command, chain, position, table } = prefix;
  return { command, chain, position, table, rule };
}

/**
 * What Rule.parse and parseAll parse: the spec itself, or, for a line with a prefix, the words after
 * it (the prefix checked, its counters as `--set-counters`). A spec without a prefix is passed on as it is.
 */
export function ruleSpecOf(spec: string | readonly string[]): string | readonly string[] {
  return hasLinePrefix(spec) ? takePrefix(wordsOf(spec)).spec : spec;
}

/** Whether a rule spec starts as a rule line does: with counters, `-t` or a command. */
export function hasLinePrefix(spec: string | readonly string[]): boolean {
  if (typeof spec === 'string') return PREFIXED_TEXT.test(spec);
  const first: unknown = Array.isArray(spec) ? spec[0] : undefined;
  return typeof first === 'string' && (first.startsWith('[') || TABLE_OPTIONS.has(first) || Object.hasOwn(COMMANDS, first));
}

/**
 * The rules of a spec whose `-s` and `-d` may list addresses (Rule.parseAll): one per source and
 * destination, sources outer, in the order iptables appends them; one for a spec without lists.
 */
export function parseRuleList<R extends Rule>(RuleClass: new () => R, family: Family, line: string | readonly string[]): R[] {
  const words = specWords(ruleSpecOf(line));
  const compiled = compileSpec(family, words);
  if (compiled) return [ruleOf(new RuleClass(), compiled)];
  const lists: AddressLists = { src: [], dst: [] };
  const first = parseRuleSpec(new RuleClass(), words, lists);
  if (lists.src.length <= 1 && lists.dst.length <= 1) return [first];
  const rules: R[] = [];
  for (const src of lists.src.length > 0 ? lists.src : [first.src]) {
    for (const dst of lists.dst.length > 0 ? lists.dst : [first.dst]) {
      // A parse of its own for each: the rules share no match or target object.
      const rule = parseRuleSpec(new RuleClass(), words, { src: [], dst: [] });
      rule.src = src;
      rule.dst = dst;
      rules.push(rule);
    }
  }
  return rules;
}
