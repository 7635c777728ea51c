// What a commit of an nft view sends: the one batch that turns the snapshot the view was read from into
// the view, touching nothing else (src/iptc/nft-view.ts); or, for a restore without --noflush, the batch
// that deletes and rebuilds the table, as iptables-nft-restore does. Each operation is tagged with the
// iptables command it stands for, so that a refusal names it (nftCommitError). Around the send, the
// kernel's limits a batch must keep to: refuseOversized before it, releaseRemoved after it.
import { CommitError, IPTCError } from '../xtables/errors.js';
import type { Family } from '../xtables/shim.js';
import { errnoName } from '../netlink/errors.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { NftBatch, type BatchOp } from '../nft/batch.js';
import { NF_ACCEPT, NF_DROP } from '../nft/constants.js';
import type { NftBatchError } from '../nft/errors.js';
import { decoderFor, type NftRule } from '../nft/rule.js';
import { rulesOf, type NftSnapshot } from '../nft/snapshot.js';
import type { RawRule } from './table-backend.js';
import type { ViewChain, ViewRule } from './nft-view-chain.js';
import { saveEntry } from './save.js';

/** The iptables command an operation stands for, worked out only when the kernel refuses it. */
export type Command = () => string;

/** A rule as iptables' command line gives it: `-A INPUT -p tcp ... -j ACCEPT`. */
function ruleCommand(family: Family, verb: string, raw: RawRule): string {
  const spec = saveEntry(family, raw.entry, 0, raw.label, raw.standard);
  return spec === '' ? verb : `${verb} ${spec}`;
}

/** A kernel rule (being deleted or zeroed) by its spec; by its handle when iptables cannot express it. */
function kernelRuleCommand(family: Family, verb: string, nft: NftRule): string {
  try {
    const t = nft.toEntry(decoderFor(nft.family));
    return ruleCommand(family, verb, { entry: t.entry, label: t.label, standard: t.standard });
  } catch {
    return `${verb} (nf_tables rule handle ${nft.handle})`;
  }
}

/** strerror's words for the errnos nf_tables answers with. */
const ERRNO_TEXT: Record<number, string> = {
  1: 'Operation not permitted', 2: 'No such file or directory', 12: 'Cannot allocate memory', 16: 'Device or resource busy',
  17: 'File exists', 22: 'Invalid argument', 24: 'Too many open files', 28: 'No space left on device', 31: 'Too many links',
  34: 'Numerical result out of range', 39: 'Directory not empty', 40: 'Too many levels of symbolic links',
  90: 'Message too long', 95: 'Operation not supported', 105: 'No buffer space available',
};

const errnoText = (errno: number): string => `${ERRNO_TEXT[errno] ?? errnoName(errno)} (${errnoName(errno)}, errno ${errno})`;

/**
 * The kernel's refusal of a batch as legacy reports a refused commit: a CommitError naming the first
 * refused operation as its iptables command line, with the errno (and the others refused after it).
 */
export function nftCommitError(table: string, e: NftBatchError<BatchOp<Command>>): CommitError {
  const failures = e.failures.filter((f) => f.op !== undefined);
  const first = failures[0] ?? e.failures[0];
  if (first === undefined) return new CommitError(table, e.errno, e.message);
  // Several tables in one transaction (Table.commitAll): the refused operation's.
  table = first.op?.table ?? table;
  const name = (f: typeof first) => f.op?.tag?.();
  const why = (f: typeof first) => `${errnoText(f.errno)}${f.extAck.message ? ` (${f.extAck.message})` : ''}`;
  const others = failures.slice(1).map((f) => `\`${name(f) ?? f.op!.kind}': ${why(f)}`);
  // A rule placed after a refused one is refused too (ENOENT: its position is gone): name the first as
  // the cause and the others as what followed.
  const reason = `${why(first)}${others.length > 0 ? `; refused after it (maybe because of it): ${others.join('; ')}` : ''}`;
  const error = new CommitError(table, first.errno, reason, name(first));
  error.cause = e;
  return error;
}

/**
 * The largest message iptc puts in a batch. The kernel (6.18, measured) takes a 32,216-byte NEWRULE
 * (107 comment matches) but silently ignores a 32,516-byte one and every message after it, while the
 * messages before it are committed and no error comes back (iptables-nft 1.8.9 exits 0 with no rule).
 */
const MAX_MESSAGE = 32 * 1024 - 512;
const EMSGSIZE = 90;

/** Refuses, before anything is sent, a batch with a message the kernel would drop without a word. */
export function refuseOversized(batch: NftBatch<Command>, table: string): void {
  const ops = batch.ops;
  for (let i = 0; i < ops.length; i++) {
    const end = i + 1 < ops.length ? ops[i + 1]!.at : batch.bytes - 20;
    if (end - ops[i]!.at > MAX_MESSAGE) {
      const chain = ops[i]!.chain === undefined ? '' : ` in chain \`${ops[i]!.chain}'`;
      throw new IPTCError(
        `cannot write a rule${chain} of table \`${ops[i]!.table ?? table}' to nf_tables: its message is ${end - ops[i]!.at} bytes, and the ` +
          `kernel drops one over ${MAX_MESSAGE} without an error (fewer matches, or the legacy backend, take it)`,
        EMSGSIZE,
      );
    }
  }
}

/** Operations that take rules out of the kernel (a replaced rule's old expressions go too). */
const RELEASES = new Set(['deleteRule', 'flushRules', 'replaceRule', 'deleteChain', 'deleteTable']);

/**
 * The kernel frees the expressions of removed rules in deferred work, and until then they still hold
 * what they refer to: an `ipset destroy` of a set a deleted rule used gets EBUSY now and then (measured:
 * 16 of 20 times at once after the commit). Releasing a NETLINK_NETFILTER socket makes the kernel finish
 * that work first, which is why iptables-nft, whose socket goes when it exits, never shows it: so does
 * a throwaway socket here, before commit() returns, when the batch took rules out.
 */
export function releaseRemoved(batch: NftBatch<Command>): void {
  if (batch.ops.some((op) => RELEASES.has(op.kind))) new NetlinkSocket().close();
}

/** Whether a rule's counter holds anything to zero (iptables-nft re-sends only those). */
function hasCounts(rule: NftRule): boolean {
  const c = rule.counters;
  return c.packets !== 0n || c.bytes !== 0n;
}

const policyCode = (policy: string | null): number => (policy === 'DROP' ? NF_DROP : NF_ACCEPT);

/**
 * The batch that turns the snapshot into the view, in an order the kernel accepts: table and builtin
 * chains, rule deletes and zeroes (on the chains' old names), chains deleted, renamed and created,
 * policies, then replaced and new rules (see placeNewRules).
 */
export function buildBatch(family: Family, table: string, snap: NftSnapshot, chains: ViewChain[],
  batch = new NftBatch<Command>(family)): NftBatch<Command> {
  batch.setFamily(family);
  const kept = new Set<bigint>();
  for (const c of chains) for (const r of c.rules) if (r.kind !== 'new') kept.add(r.nft.handle);
  const survivors = new Set(chains.map((c) => c.kernel?.name).filter((n) => n !== undefined));

  const needsTable = snap.table === null;
  const missingBuiltins = chains.filter((c) => c.builtin && c.kernel === null && (c.touched || c.newPolicy));
  const body: (() => void)[] = [];

  for (const k of snap.chains) {
    if (!survivors.has(k.name)) continue;
    const old = rulesOf(snap, k.name);
    const gone = old.filter((nft) => !kept.has(nft.handle));
    // A chain emptied of every rule it had is flushed in one message (`iptables -F`): the kernel finds
    // a rule to delete by walking the chain from its head, so deleting 10,000 rules one by one costs
    // 50 million steps. The generation check keeps the flush from taking a rule the view has not seen.
    if (gone.length > 1 && gone.length === old.length) body.push(() => batch.flushRules(table, k.name, () => `-F ${k.name}`));
    else for (const nft of gone) body.push(() => batch.deleteRule(table, k.name, nft.handle, () => kernelRuleCommand(family, `-D ${k.name}`, nft)));
  }
  for (const c of chains) {
    for (const r of c.rules) if (r.kind === 'kernel' && r.zero && hasCounts(r.nft)) body.push(() => batch.rewriteRule(r.nft, undefined, () => `-Z ${c.name}`));
  }
  // Every deleted chain is flushed before any is deleted: the kernel refuses (EBUSY) to delete a chain
  // that a rule still jumps to, and deleted chains may jump to each other (a -> b, b -> a).
  const deleted = snap.chains.filter((k) => !survivors.has(k.name));
  for (const k of deleted) body.push(() => batch.flushRules(table, k.name, () => `-F ${k.name}`));
  for (const k of deleted) body.push(() => batch.deleteChain(table, k.name, () => `-X ${k.name}`));
  for (const c of chains) if (c.kernel && c.kernel.name !== c.name) body.push(() => batch.renameChain(table, c.kernel!.handle, c.name, () => `-E ${c.kernel!.name} ${c.name}`));
  for (const c of chains) if (!c.builtin && c.kernel === null) body.push(() => batch.addChain(table, c.name, () => `-N ${c.name}`));
  for (const c of chains) {
    if (!c.builtin || c.kernel === null) continue;
    if (c.newPolicy) body.push(() => batch.setPolicy(table, c.name, policyCode(c.policy), c.policyCounters, () => `-P ${c.name} ${c.policy}`));
    else if (c.zeroPolicy && c.kernel.counters) body.push(() => batch.setChainCounters(table, c.name, 0n, 0n, () => `-Z ${c.name}`));
  }
  for (const c of chains) {
    c.rules.forEach((r, i) => {
      if (r.kind === 'replaced') body.push(() => batch.replaceRule(table, c.name, r.nft.handle, entryRule(r.raw), () => ruleCommand(family, `-R ${c.name} ${i + 1}`, r.raw)));
    });
    placeNewRules(family, batch, table, c, body);
  }
  if (body.length === 0 && missingBuiltins.length === 0) return batch;
  if (needsTable) batch.addTable(table, () => `*${table}`);
  for (const c of missingBuiltins) addBuiltin(batch, table, c);
  for (const write of body) write();
  return batch;
}

const entryRule = (raw: { entry: Buffer; standard: boolean }) => ({ entry: raw.entry, standard: raw.standard });

/**
 * The chain's new rules, each run of them between two rules the kernel keeps placed by the handle of one
 * of those, never by the batch id of the rule before it: the kernel finds a rule by batch id by walking
 * the transaction from its start, which makes a run of n rules chained so cost n² (30,000 appended
 * rules: 3.6 s instead of 0.6 s). A run at the tail is appended, as iptables-nft-restore appends; a run
 * at the head goes in last-first, each at the head; a run after a kept rule, last-first, each right
 * after it. Deletes come before these in the batch, so the chain holds only kept rules and runs
 * placed earlier.
 */
function placeNewRules(family: Family, batch: NftBatch<Command>, table: string, c: ViewChain, body: (() => void)[]): void {
  const rules = c.rules;
  const command = (at: number) => () =>
    ruleCommand(family, at === rules.length - 1 ? `-A ${c.name}` : `-I ${c.name} ${at + 1}`, (rules[at] as Extract<ViewRule, { kind: 'new' }>).raw);
  let i = 0;
  while (i < rules.length) {
    if (rules[i]!.kind !== 'new') {
      i++;
      continue;
    }
    let end = i;
    while (end < rules.length && rules[end]!.kind === 'new') end++;
    const start = i;
    const run = rules.slice(i, end) as Extract<ViewRule, { kind: 'new' }>[];
    const anchor = i > 0 ? (rules[i - 1] as Exclude<ViewRule, { kind: 'new' }>).nft.handle : null;
    if (end === rules.length) {
      body.push(() => {
        run.forEach((r, k) => batch.appendRule(table, c.name, entryRule(r.raw), undefined, command(start + k)));
      });
    } else if (anchor === null) {
      body.push(() => {
        for (let k = run.length - 1; k >= 0; k--) batch.insertRule(table, c.name, entryRule(run[k]!.raw), undefined, command(start + k));
      });
    } else {
      body.push(() => {
        for (let k = run.length - 1; k >= 0; k--) batch.appendRule(table, c.name, entryRule(run[k]!.raw), { handle: anchor }, command(start + k));
      });
    }
    i = end;
  }
}

function addBuiltin(batch: NftBatch<Command>, table: string, c: ViewChain): void {
  batch.addBuiltinChain(table, c.name, { policy: policyCode(c.policy), counters: c.policyCounters }, () => `:${c.name} ${c.policy}`);
}

/**
 * The batch of a restore without --noflush, as iptables-nft-restore sends it: the table deleted (every
 * chain, rule, handle and counter of it) and built again from the view. Only the builtin chains the
 * restore declared or added to exist afterwards (an undeclared one reads as `ACCEPT [0:0]`).
 */
export function buildReplaceBatch(family: Family, table: string, snap: NftSnapshot, chains: ViewChain[],
  batch = new NftBatch<Command>(family)): NftBatch<Command> {
  batch.setFamily(family);
  if (snap.table !== null) batch.deleteTable(table, () => `*${table}`);
  batch.addTable(table, () => `*${table}`);
  for (const c of chains) {
    if (c.builtin && (c.touched || c.newPolicy)) addBuiltin(batch, table, c);
    else if (!c.builtin) batch.addChain(table, c.name, () => `:${c.name} -`);
  }
  for (const c of chains) {
    for (const r of c.rules) {
      // After a reset every rule of the view is new. Each is appended to its chain's end, never placed
      // by the batch id of the rule before (see placeNewRules).
      if (r.kind !== 'new') throw new Error(`internal: a rule of chain \`${c.name}' survived the reset of table \`${table}'`);
      batch.appendRule(table, c.name, entryRule(r.raw), undefined, () => ruleCommand(family, `-A ${c.name}`, r.raw));
    }
  }
  return batch;
}
