// python-iptables' easy calls on the rules of a chain, each given as a rule dictionary.
import { Chain, Table } from '../iptc/index.js';
import { checkRulePlacement } from '../iptc/guards.js';
import { checkChain, checkPosition, guarded, opts, scopeOf, type RaiseOptions } from './arguments.js';
import { indexOfRule, insertAt, rawRules, ruleNotFound } from './chain-rules.js';
import { counterOut, decodeRule, encodeRule, type DictCounters, type EasyOptions, type RuleDict } from './dict.js';
import { dumpChain } from './dumps.js';
import { noChain, readTable, writeTable } from './tables.js';

/** Whether the chain holds a rule equal to the dictionary's (counters ignored) (python: `has_rule`). */
export function hasRule(table: string, chain: string, ruleD: RuleDict, options?: EasyOptions): boolean {
  const o = opts(options);
  const rule = encodeRule(ruleD, o);
  const t = readTable(scopeOf(o), table);
  return indexOfRule(t, rawRules(t, checkChain(chain)), rule) >= 0;
}

/**
 * Adds a rule (python: `add_rule`). Position 0 appends; n > 0 inserts at iptables position n (1 is
 * the top); n < 0 inserts counting from the bottom (-1: before the last rule), at the top if it goes
 * past it. The dictionary is checked completely before anything reaches the kernel.
 */
export function addRule(table: string, chain: string, ruleD: RuleDict, options?: EasyOptions): void;
export function addRule(table: string, chain: string, ruleD: RuleDict, position: number, options?: EasyOptions): void;
export function addRule(
  table: string,
  chain: string,
  ruleD: RuleDict,
  fourth?: number | EasyOptions,
  fifth?: EasyOptions,
): void {
  const position = checkPosition(typeof fourth === 'object' || fourth === undefined ? 0 : fourth);
  const o = opts(typeof fourth === 'object' ? fourth : fifth);
  const name = checkChain(chain);
  const rule = encodeRule(ruleD, o);
  insertAt(writeTable(scopeOf(o), table), name, rule, position);
}

/** Adds a rule at the top of the chain (python: `insert_rule`). Equivalent to: `iptables -I CHAIN` */
export function insertRule(table: string, chain: string, ruleD: RuleDict, options?: EasyOptions): void {
  addRule(table, chain, ruleD, 1, options);
}

/** Deletes the first rule equal to the dictionary's (python: `delete_rule`). Equivalent to: `iptables -D CHAIN rule` */
export function deleteRule(table: string, chain: string, ruleD: RuleDict, options?: RaiseOptions): void {
  const o = opts(options);
  guarded(o, undefined, () => {
    const rule = encodeRule(ruleD, o);
    new Chain(writeTable(scopeOf(o), table), checkChain(chain)).deleteRule(rule);
  });
}

/**
 * One rule of a chain as a dictionary (python: `get_rule`): position n > 0 is the iptables position
 * (1 the top), n < 0 counts from the bottom (-1 the last rule), 0 (the default) gives every rule.
 * Only the rule asked for is decoded. With `raiseExc: false`, null instead of an error.
 */
export function getRule(table: string, chain: string, options?: RaiseOptions): RuleDict[];
export function getRule(table: string, chain: string, position: number, options?: RaiseOptions): RuleDict | RuleDict[] | null;
export function getRule(
  table: string,
  chain: string,
  third?: number | RaiseOptions,
  fourth?: RaiseOptions,
): RuleDict | RuleDict[] | null {
  const o = opts(typeof third === 'object' ? third : fourth);
  return guarded<RuleDict | RuleDict[] | null>(o, null, () => {
    const position = checkPosition(typeof third === 'number' ? third : 0);
    if (position === 0) return dumpChain(table, chain, o);
    const t = readTable(scopeOf(o), table);
    const raws = rawRules(t, checkChain(chain));
    const index = position > 0 ? position - 1 : raws.length + position;
    if (index < 0 || index >= raws.length) {
      throw new RangeError(`chain \`${chain}' has ${raws.length} rules: there is no rule at position ${position}`);
    }
    return decodeRule(t.ruleClass.fromEntry(raws[index]!));
  });
}

/**
 * Replaces the first rule equal to `oldRuleD` with `newRuleD`, in place (python: `replace_rule`).
 * Throws IPTCError (ENOENT) if there is no such rule.
 */
export function replaceRule(
  table: string,
  chain: string,
  oldRuleD: RuleDict,
  newRuleD: RuleDict,
  options?: EasyOptions,
): void {
  const o = opts(options);
  const name = checkChain(chain);
  const oldRule = encodeRule(oldRuleD, o);
  const newRule = encodeRule(newRuleD, o);
  const t = writeTable(scopeOf(o), table);
  const entry = newRule.toEntry(t.entryForm);
  checkRulePlacement(t.name, name, newRule);
  t.edit((h) => {
    if (!h.isChain(name)) throw noChain(t, name);
    const index = indexOfRule(t, h.rules(name), oldRule);
    if (index < 0) throw ruleNotFound(table, name, oldRuleD);
    Table.checkJump(h, newRule);
    h.replaceEntry(name, entry, index);
  });
}

/**
 * The counters `[packets, bytes]` of the first rule equal to the dictionary's (python:
 * `get_rule_counters`); numbers when they are safe integers, bigints otherwise. Throws IPTCError
 * (ENOENT) if there is no such rule.
 */
export function getRuleCounters(table: string, chain: string, ruleD: RuleDict, options?: EasyOptions): DictCounters {
  const o = opts(options);
  const rule = encodeRule(ruleD, o);
  const t = readTable(scopeOf(o), table);
  const raws = rawRules(t, checkChain(chain));
  const index = indexOfRule(t, raws, rule);
  if (index < 0) throw ruleNotFound(table, chain, ruleD);
  const c = t.ruleClass.fromEntry(raws[index]!).counters;
  return [counterOut(c.packets), counterOut(c.bytes)];
}

/**
 * The 0-based index of the first rule equal to the dictionary's, as python-iptables'
 * `get_rule_position` returns it (so the iptables position, and getRule's, is this + 1). Throws
 * IPTCError (ENOENT) if there is no such rule.
 */
export function getRulePosition(table: string, chain: string, ruleD: RuleDict, options?: EasyOptions): number {
  const o = opts(options);
  const rule = encodeRule(ruleD, o);
  const t = readTable(scopeOf(o), table);
  const index = indexOfRule(t, rawRules(t, checkChain(chain)), rule);
  if (index < 0) throw ruleNotFound(table, chain, ruleD);
  return index;
}
