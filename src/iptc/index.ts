/**
 * `iptc`: Linux netfilter (iptables, legacy xtables backend) tables, chains, rules, matches and targets
 * for Node.js, through libiptc and libxtables. A port of python-iptables.
 *
 * @module
 */
export { Table, Table6, type TableOptions, type SaveOptions } from './table.js';
export { XTablesLockError, type LockWait } from '../xtables/lock.js';
export { XTablesThreadError } from '../xtables/shim.js';
export { Chain } from './chain.js';
export type { RuleOrSpec } from './idempotent.js';
export type { DeletedOwned } from './owned.js';
export type { RuleLine, RuleCommand } from './rule-line.js';
export { Rule, Rule6, type Counters, type Parameters } from './rule.js';
export { Match } from './match.js';
export { RuleSyntaxError } from './parse.js';
export { RestoreError, type RestoreOptions } from './restore.js';
export { ConcurrentChangeError } from './positions.js';
export { saveAll, restoreAll, type FamilyOptions } from './ruleset.js';
export { Extension } from './extension.js';
export { Target, type TargetOptions } from './target.js';
export { Policy, type PolicyName } from './policy.js';
export type { ParameterValue } from './parameters.js';
export { detectBackend, type BackendInfo } from './backend.js';
export { NftForeignRuleError } from './nft-foreign-rule.js';
export { NftOpaqueRuleError } from '../nft/errors.js';
export { NftIncompatibleTableError } from './nft-backend.js';
export type { BackendChoice, BackendName } from './table-backend.js';
export { IPTCError, XTablesError, LibraryError } from '../xtables/errors.js';
export { NetnsError } from '../netns/errors.js';
export { isTableAvailable, isTable6Available } from './availability.js';
