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
export { decodeRule, encodeRule } from './dict.js';
export type { DecodedParams, DictCounters, EasyOptions, EasyValue, RuleDict } from './dict.js';
export type { RaiseOptions } from './arguments.js';
export {
  addChain,
  deleteChain,
  flushAll,
  flushChain,
  flushTable,
  getChains,
  getPolicy,
  getTables,
  hasChain,
  setPolicy,
  zeroAll,
  zeroChain,
  zeroTable,
  type DeleteChainOptions,
} from './chains.js';
export {
  addRule,
  deleteRule,
  getRule,
  getRuleCounters,
  getRulePosition,
  hasRule,
  insertRule,
  replaceRule,
} from './rules.js';
export { testMatch, testRule, testTarget } from './checks.js';
export { dumpAll, dumpChain, dumpTable } from './dumps.js';
export {
  batchAbort,
  batchAddChains,
  batchAddRules,
  batchBegin,
  batchDeleteChains,
  batchDeleteRules,
  batchEnd,
  inBatchMode,
  type BatchAddChainsOptions,
  type BatchRule,
} from './batch.js';
