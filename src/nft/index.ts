/**
 * The nf_tables binding: what a backend for the object model calls. It knows netlink and the rule
 * formats; it knows nothing of Table, Chain or Rule. Rules go in and come out as ipt_entry / ip6t_entry
 * buffers (the legacy backend's currency), so Rule.parse, Rule.fromEntry and toString work unchanged.
 *
 * - Read: readSnapshot (generation, table, chains, rules with handles, raw and lazily decoded),
 *   NftRule.toEntry (throws NftOpaqueRuleError for rules iptables cannot express), walkCounters,
 *   dumpRules({ reset }) with probeRuleReset.
 * - Write: NftBatch (tables, builtin and user chains, policy, rules by handle or position, raw rewrite for
 *   zeroing), committed in one sendmsg with the snapshot's generation (NftGenerationError on ERESTART).
 * - Extensions: useNftRevisionProbe, so libxtables asks nft_compat which revisions exist.
 *
 * @module
 */
export { NetlinkSocket } from '../netlink/socket.js';
export { NetlinkKernelError, NetlinkSocketError, NetlinkDumpInterrupted, type ExtAck } from '../netlink/errors.js';
export { NFPROTO_IPV4, NFPROTO_IPV6, NF_ACCEPT, NF_DROP, type NftFamily } from './constants.js';
export {
  NftBatchError,
  NftCommitUnknownError,
  NftGenerationError,
  NftOpaqueRuleError,
  NftSnapshotError,
  NftTranslateError,
  type BatchFailure,
} from './errors.js';
export { readGeneration } from './gen.js';
export { dumpTables, isDormant, isOwned, type NftTable } from './table.js';
export { BUILTIN_TABLES, builtinChain, chainCompatibility, dumpChains, type BuiltinChain, type NftChain } from './chain.js';
export { decoderFor, dumpRules, walkCounters, NftRule, type RuleDumpOptions } from './rule.js';
export { incompatibleChains, readSnapshot, rulesOf, type NftSnapshot } from './snapshot.js';
export {
  NftBatch,
  type BatchOp,
  type BatchOpKind,
  type CommitOptions,
  type CommitResult,
  type EntryRule,
  type RulePosition,
} from './batch.js';
export { probeRuleReset } from './reset.js';
export { compatRevision, nftRevisionProbe, useNftRevisionProbe, type CompatKind } from './compat.js';
export { RuleDecoder, type TranslatedRule } from './translate/decode.js';
export { writeRuleBody, type EncodeOptions } from './translate/encode.js';
export { recoverCompat } from './translate/raw.js';
