/**
 * `iptc/async`: the object model of `iptc` (tables, chains, rules, counters, save/restore) and of
 * `iptc/ipset`, with promises. The work is done by one owner thread (a worker thread that owns the
 * xtables layer), so the caller's event loop keeps running through xtables lock waits and commits of
 * any size. Tables and ipsets can work in another network namespace (`{ netns }`), the caller's thread
 * staying in its own. See docs/async.md.
 *
 * @module
 */
export { AsyncTable, AsyncTable6 } from './table.js';
export { AsyncChain } from './chain.js';
export { RuleSnapshot, type RuleInput } from './rule.js';
export { AsyncIPSet } from './ipset.js';
export { shutdown } from './owner.js';
export { NetnsError } from '../netns/errors.js';
export type { TableOptions, SaveOptions } from '../iptc/table.js';
export type { RestoreOptions } from '../iptc/restore.js';
export type { DeletedOwned } from '../iptc/owned.js';
export type { IPSetOptions } from '../ipset/netns.js';
export type { RuleDict } from '../easy/dict.js';
