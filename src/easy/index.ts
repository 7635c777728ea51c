/**
 * `iptc/easy`: python-iptables' `iptc.easy` dictionary API. Tables and chains by name, rules as plain
 * dictionaries (JSON written for python-iptables works unchanged), `{ ipv6: true }` for ip6tables.
 *
 * Differences from python-iptables, all on purpose: nothing is silently dropped (an unknown match or a
 * bad parameter throws), `zeroTable` / `zeroAll` work, a batch (`batchBegin` ... `batchEnd`) really is
 * one commit per table with nothing visible before it ends, and reads do not commit anything.
 *
 * @module
 */
import { Chain, IPTCError, Rule, Rule6, Table, Table6 } from '../iptc/index.js';
import { checkRulePlacement } from '../iptc/guards.js';
import { SeenRules } from '../iptc/positions.js';
import {
  addMatches,
  counterOut,
  decodeRule,
  encodeRule,
  setTarget,
  type DictCounters,
  type EasyOptions,
  type EasyValue,
  type RuleDict,
} from './dict.js';
import {
  abortBatch,
  beginBatch,
  endBatch,
  inBatch,
  liveTables,
  noChain,
  readTable,
  transaction,
  writeTable,
  type Family,
  type Scope,
} from './tables.js';
import { backendFor, checkBackendChoice, defaultBackend } from '../iptc/backend-choice.js';

export { decodeRule, encodeRule };
export type { DecodedParams, DictCounters, EasyOptions, EasyValue, RuleDict } from './dict.js';

/** EasyOptions and python's `raise_exc=` keyword. */
export interface RaiseOptions extends EasyOptions {
  /** Throw errors (the default); with false, errors are swallowed and a neutral value is returned. */
  raiseExc?: boolean;
}

/** Options of deleteChain (python: `delete_chain(..., flush=False, raise_exc=True)`). */
export interface DeleteChainOptions extends RaiseOptions {
  /** Flush the chain first. */
  flush?: boolean;
}

/** Options of batchAddChains (python: `batch_add_chains(..., flush=True)`). */
export interface BatchAddChainsOptions extends EasyOptions {
  /** Flush chains that already exist (default true). */
  flush?: boolean;
}

/** One rule for batchAddRules: `[chain, rule, position]` (position as addRule's, default 0 = append). */
export type BatchRule = readonly [chain: string, rule: RuleDict, position?: number];

const ENOENT = 2;

/** One rule as the table read it from the kernel (not decoded yet). */
type RawRule = ReturnType<Table['rawChain']>['rules'][number];

function opts<T extends EasyOptions>(options: T | undefined): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`options must be an object like { ipv6: true }, got ${typeof options}`);
  }
  return options;
}

function familyOf(options: EasyOptions): Family {
  if (options.ipv6 !== undefined && typeof options.ipv6 !== 'boolean') throw new TypeError('ipv6 must be a boolean');
  return options.ipv6 === true ? 6 : 4;
}

/** The family and backend an easy call works on: its `backend` option, else Table.defaultBackend. */
function scopeOf(options: EasyOptions): Scope {
  const choice = options.backend === undefined ? defaultBackend() : checkBackendChoice(options.backend, 'backend');
  return { family: familyOf(options), backend: backendFor(choice).name };
}

function checkChain(chain: unknown): string {
  if (typeof chain !== 'string' || chain === '') throw new TypeError(`a chain name must be a non-empty string, got ${String(chain)}`);
  return chain;
}

function checkPosition(position: unknown): number {
  if (typeof position !== 'number' || !Number.isSafeInteger(position)) {
    throw new TypeError(`a position must be an integer, got ${String(position)}`);
  }
  return position;
}

/** Runs fn; with raiseExc false, returns `fallback` instead of throwing. */
function guarded<T>(options: RaiseOptions, fallback: T, fn: () => T): T {
  if (options.raiseExc === undefined || options.raiseExc) return fn();
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function rawRules(t: Table, chain: string): RawRule[] {
  if (!t.isChain(chain)) throw noChain(t, chain);
  return t.rawChain(chain).rules;
}

function ruleNotFound(table: string, chain: string, ruleD: RuleDict): IPTCError {
  return new IPTCError(`Chain <${chain}@${table}> has no rule <${JSON.stringify(ruleD, bigintJson)}>`, ENOENT);
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** The 0-based index of the first rule equal to `rule` (as `iptables -D` compares rules), or -1. */
function indexOfRule(t: Table, raws: readonly RawRule[], rule: Rule): number {
  const RuleClass = t.ruleClass;
  // A kernel entry and the entry of the same rule built here have the same size: skip the others
  // without decoding them.
  const size = rule.toEntry(t.entryForm).length;
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    if (raw.entry.length === size && rule.equals(RuleClass.fromEntry(raw))) return i;
  }
  return -1;
}

/**
 * Adds a rule at a python easy position, on a fresh copy of the table (or the batch's copy). In a batch,
 * batchEnd() inserts it next to the rule it was placed after (see SeenRules), counted from the top or the
 * bottom as the chain was then.
 */
function insertAt(t: Table, chain: string, rule: Rule, position: number): void {
  checkRulePlacement(t.name, chain, rule);
  const entry = rule.toEntry(t.entryForm);
  const seen = new SeenRules();
  let index: number | null = null;
  t.edit((h) => {
    if (!h.isChain(chain)) throw noChain(t, chain);
    Table.checkJump(h, rule);
    if (position === 0) {
      h.appendEntry(chain, entry);
      return;
    }
    // As the iptables CLI: 1 is the first rule. From the bottom: -1 is before the last rule, and past the
    // top means at the top.
    index ??= position > 0 ? position - 1 : Math.max(0, h.rules(chain).length + position);
    h.insertEntry(chain, entry, seen.insertion(h, chain, index));
  });
}

// ---------------------------------------------------------------------------------------------------
// Tables and chains

/**
 * The tables this kernel offers (python: `get_tables(ipv6=False)`), without instantiating any.
 */
export function getTables(options?: EasyOptions): string[] {
  const o = opts(options);
  const { family, backend } = scopeOf(o);
  const all = family === 6 ? Table6.ALL : Table.ALL;
  return all.filter((name) => backendFor(backend).isAvailable(family, name));
}

/** The chains of a table, built-in ones first, as iptables lists them (python: `get_chains`). */
export function getChains(table: string, options?: EasyOptions): string[] {
  const o = opts(options);
  return readTable(scopeOf(o), table).chains.map((c) => c.name);
}

/** Whether `chain` exists in `table` (python: `has_chain`). */
export function hasChain(table: string, chain: string, options?: EasyOptions): boolean {
  const o = opts(options);
  return readTable(scopeOf(o), table).isChain(checkChain(chain));
}

/**
 * Creates a user chain; true on success (python: `add_chain`). With `raiseExc: false`, false instead
 * of an error (e.g. the chain exists).
 */
export function addChain(table: string, chain: string, options?: RaiseOptions): boolean {
  const o = opts(options);
  return guarded(o, false, () => {
    writeTable(scopeOf(o), table).createChain(checkChain(chain));
    return true;
  });
}

/**
 * Deletes a user chain (python: `delete_chain`); `flush: true` empties it first, in the same commit.
 * Equivalent to: `iptables -t TABLE [-F CHAIN] -X CHAIN`
 */
export function deleteChain(table: string, chain: string, options?: DeleteChainOptions): void {
  const o = opts(options);
  guarded(o, undefined, () => {
    const name = checkChain(chain);
    const t = writeTable(scopeOf(o), table);
    t.edit((h) => {
      if (!h.isChain(name)) throw noChain(t, name);
      if (h.isBuiltin(name)) throw new IPTCError(`cannot delete built-in chain \`${name}'`, 1);
      if (o.flush === true) h.flushEntries(name);
      h.deleteChain(name);
    });
  });
}

/** Flushes every chain of every table of the family and deletes user chains (python: `flush_all`). */
export function flushAll(options?: EasyOptions): void {
  const o = opts(options);
  const live = liveTables(scopeOf(o));
  // A table the kernel has not instantiated is empty: flushing it would only instantiate it.
  for (const name of getTables(o)) if (live.includes(name)) flushTable(name, o);
}

/** Flushes every chain of a table and deletes its user chains, in one commit (python: `flush_table`). */
export function flushTable(table: string, options?: RaiseOptions): void {
  const o = opts(options);
  guarded(o, undefined, () => writeTable(scopeOf(o), table).flush());
}

/** Deletes every rule of a chain (python: `flush_chain`). Equivalent to: `iptables -F CHAIN` */
export function flushChain(table: string, chain: string, options?: RaiseOptions): void {
  const o = opts(options);
  guarded(o, undefined, () => new Chain(writeTable(scopeOf(o), table), checkChain(chain)).flush());
}

/**
 * Zeroes the counters of every table of the family (python: `zero_all`, which takes an unused table
 * argument: accepted and ignored here too).
 */
export function zeroAll(options?: EasyOptions): void;
export function zeroAll(table: string | null | undefined, options?: EasyOptions): void;
export function zeroAll(first?: string | null | EasyOptions, second?: EasyOptions): void {
  const o = opts(typeof first === 'object' && first !== null ? first : second);
  const live = liveTables(scopeOf(o));
  for (const name of getTables(o)) if (live.includes(name)) zeroTable(name, o);
}

/** Zeroes the counters of every chain of a table, rules and policies (python: `zero_table`). */
export function zeroTable(table: string, options?: EasyOptions): void {
  const o = opts(options);
  writeTable(scopeOf(o), table).zeroEntries();
}

/** Zeroes the counters of a chain's rules and policy (python: `zero_chain`). Equivalent to: `iptables -Z CHAIN` */
export function zeroChain(table: string, chain: string, options?: EasyOptions): void {
  const o = opts(options);
  const name = checkChain(chain);
  const t = writeTable(scopeOf(o), table);
  t.edit((h) => {
    if (!h.isChain(name)) throw noChain(t, name);
    h.zeroEntries(name);
  });
}

/** The policy of a built-in chain, e.g. 'ACCEPT'; null for a user chain (python: `get_policy`). */
export function getPolicy(table: string, chain: string, options?: EasyOptions): string | null {
  const o = opts(options);
  const t = readTable(scopeOf(o), table);
  const name = checkChain(chain);
  if (!t.isChain(name)) throw noChain(t, name);
  return t.chain(name).getPolicy()?.name ?? null;
}

/** Sets the policy of a built-in chain (python: `set_policy`, default 'ACCEPT'). Equivalent to: `iptables -P` */
export function setPolicy(table: string, chain: string, options?: EasyOptions): void;
export function setPolicy(table: string, chain: string, policy: string, options?: EasyOptions): void;
export function setPolicy(table: string, chain: string, third?: string | EasyOptions, fourth?: EasyOptions): void {
  const policy = typeof third === 'string' ? third : 'ACCEPT';
  const o = opts(typeof third === 'object' ? third : fourth);
  new Chain(writeTable(scopeOf(o), table), checkChain(chain)).setPolicy(policy);
}

// ---------------------------------------------------------------------------------------------------
// Rules

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

// ---------------------------------------------------------------------------------------------------
// Checks without the kernel

/** Whether the dictionary makes a valid rule (every match, target and parameter) (python: `test_rule`). */
export function testRule(ruleD: RuleDict, options?: EasyOptions): boolean {
  const o = opts(options);
  try {
    encodeRule(ruleD, o);
    return true;
  } catch {
    return false;
  }
}

function newRule(o: EasyOptions): Rule {
  return familyOf(o) === 6 ? new Rule6() : new Rule();
}

/**
 * Whether `{ [name]: value }` is a valid match of a rule dictionary (python: `test_match`), e.g.
 * `testMatch('tcp', { dport: '22' })`, `testMatch('comment', 'text')`.
 */
export function testMatch(name: string, value: EasyValue, options?: EasyOptions): boolean {
  const o = opts(options);
  try {
    const rule = newRule(o);
    addMatches(rule, name, value);
    rule.toEntry();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `{ [name]: value }` is a valid target of a rule dictionary (python: `test_target`), e.g.
 * `testTarget('REJECT', { 'reject-with': 'tcp-reset' })`, `testTarget('goto', 'mychain')`.
 */
export function testTarget(name: string, value: EasyValue, options?: EasyOptions): boolean {
  const o = opts(options);
  try {
    const rule = newRule(o);
    setTarget(rule, { [name]: value });
    rule.toEntry();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Dumps

/** Every rule of a chain as dictionaries, in order (python: `dump_chain`). */
export function dumpChain(table: string, chain: string, options?: EasyOptions): RuleDict[] {
  const o = opts(options);
  const t = readTable(scopeOf(o), table);
  const RuleClass = t.ruleClass;
  return rawRules(t, checkChain(chain)).map((raw) => decodeRule(RuleClass.fromEntry(raw)));
}

/**
 * `{ chain: [rules] }` for every chain of a table, from one read of it (python: `dump_table`). The
 * object has no prototype, so that any chain name (`__proto__` too) is a key of its own.
 */
export function dumpTable(table: string, options?: EasyOptions): Record<string, RuleDict[]> {
  const o = opts(options);
  const t = readTable(scopeOf(o), table);
  const RuleClass = t.ruleClass;
  const out = Object.create(null) as Record<string, RuleDict[]>;
  for (const c of t.chains) out[c.name] = t.rawChain(c.name).rules.map((raw) => decodeRule(RuleClass.fromEntry(raw)));
  return out;
}

/** `{ table: { chain: [rules] } }` for every table of the family (python: `dump_all`). */
export function dumpAll(options?: EasyOptions): Record<string, Record<string, RuleDict[]>> {
  const o = opts(options);
  const out = Object.create(null) as Record<string, Record<string, RuleDict[]>>;
  for (const name of getTables(o)) out[name] = dumpTable(name, o);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Batches

/**
 * Starts a batch (python: `batch_begin`): from now until batchEnd(), no easy call commits anything, in
 * any table of either family. Changes collect in one private copy per table, which later easy reads
 * see; the kernel (and `iptables-save`) sees nothing until batchEnd(). The table argument is accepted
 * for python compatibility; the batch covers every table. Calling it again inside a batch is a no-op.
 */
export function batchBegin(table?: string | null | EasyOptions, options?: EasyOptions): void {
  const o = opts(typeof table === 'object' && table !== null ? table : options);
  scopeOf(o);
  beginBatch([]);
}

/**
 * Ends the batch and commits it (python: `batch_end`): one atomic commit per table changed, all or
 * nothing, under one hold of the xtables lock (on nft: every table in one nf_tables transaction). If the kernel refuses a table, the tables already
 * committed by this batch are put back, so the kernel is left as it was (rules other programs added are
 * never removed); the batch ends either way and the error is thrown. Outside a batch it does nothing.
 */
export function batchEnd(table?: string | null | EasyOptions, options?: EasyOptions): void {
  const o = opts(typeof table === 'object' && table !== null ? table : options);
  scopeOf(o);
  endBatch();
}

/** Ends the batch without committing anything (not in python-iptables). */
export function batchAbort(): void {
  abortBatch();
}

/** Whether a batch is open (not in python-iptables). */
export function inBatchMode(): boolean {
  return inBatch();
}

/**
 * Creates the chains that do not exist yet, and flushes those that do unless `flush: false`, in one
 * commit (python: `batch_add_chains`).
 */
export function batchAddChains(table: string, chains: readonly string[], options?: BatchAddChainsOptions): void {
  const o = opts(options);
  if (!Array.isArray(chains)) throw new TypeError('chains must be a list of chain names');
  const names = chains.map(checkChain);
  transaction(scopeOf(o), table, (t) => {
    for (const name of names) {
      const exists = t.edit((h) => h.isChain(name));
      if (!exists) t.createChain(name);
      else if (o.flush !== false) t.edit((h) => h.flushEntries(name));
    }
  });
}

/**
 * Flushes and deletes the chains that exist, in one commit (python: `batch_delete_chains`). All are
 * flushed before any is deleted, so chains that jump to each other can go together.
 */
export function batchDeleteChains(table: string, chains: readonly string[], options?: EasyOptions): void {
  const o = opts(options);
  if (!Array.isArray(chains)) throw new TypeError('chains must be a list of chain names');
  const names = chains.map(checkChain);
  transaction(scopeOf(o), table, (t) => {
    t.edit((h) => {
      const present = names.filter((name) => h.isChain(name));
      for (const name of present) {
        if (h.isBuiltin(name)) throw new IPTCError(`cannot delete built-in chain \`${name}'`, 1);
      }
      for (const name of present) h.flushEntries(name);
      for (const name of present) h.deleteChain(name);
    });
  });
}

/**
 * Adds rules `[chain, rule, position]` (positions as addRule's) in one commit (python:
 * `batch_add_rules`). Every dictionary is checked before anything changes; if any rule fails, none is
 * added.
 */
export function batchAddRules(table: string, batchRules: readonly BatchRule[], options?: EasyOptions): void {
  const o = opts(options);
  if (!Array.isArray(batchRules)) throw new TypeError('batchRules must be a list of [chain, rule, position]');
  const encoded = batchRules.map((item) => {
    if (!Array.isArray(item)) throw new TypeError('each batch rule must be [chain, rule, position]');
    const [chain, ruleD, position] = item as unknown as BatchRule;
    return { chain: checkChain(chain), rule: encodeRule(ruleD, o), position: checkPosition(position ?? 0) };
  });
  transaction(scopeOf(o), table, (t) => {
    for (const { chain, rule, position } of encoded) insertAt(t, chain, rule, position);
  });
}

/**
 * Deletes rules `[chain, rule]` in one commit (python: `batch_delete_rules`); if any is missing, none is
 * deleted. With `raiseExc: false` the error is swallowed.
 */
export function batchDeleteRules(
  table: string,
  batchRules: readonly (readonly [chain: string, rule: RuleDict])[],
  options?: RaiseOptions,
): void {
  const o = opts(options);
  guarded(o, undefined, () => {
    if (!Array.isArray(batchRules)) throw new TypeError('batchRules must be a list of [chain, rule]');
    const encoded = batchRules.map((item) => {
      if (!Array.isArray(item)) throw new TypeError('each batch rule must be [chain, rule]');
      const [chain, ruleD] = item;
      return { chain: checkChain(chain), rule: encodeRule(ruleD, o) };
    });
    transaction(scopeOf(o), table, (t) => {
      for (const { chain, rule } of encoded) new Chain(t, chain).deleteRule(rule);
    });
  });
}
