// python-iptables' batch_* calls: a batch that holds every easy change until it ends, and the calls
// that change many chains or rules in one commit.
import { Chain, IPTCError } from '../iptc/index.js';
import { checkChain, checkPosition, guarded, opts, scopeOf, type RaiseOptions } from './arguments.js';
import { insertAt } from './chain-rules.js';
import { encodeRule, type EasyOptions, type RuleDict } from './dict.js';
import { abortBatch, beginBatch, endBatch, inBatch, transaction } from './tables.js';

/** Options of batchAddChains (python: `batch_add_chains(..., flush=True)`). */
export interface BatchAddChainsOptions extends EasyOptions {
  /** Flush chains that already exist (default true). */
  flush?: boolean;
}

/** One rule for batchAddRules: `[chain, rule, position]` (position as addRule's, default 0 = append). */
export type BatchRule = readonly [chain: string, rule: RuleDict, position?: number];

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
