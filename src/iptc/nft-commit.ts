// What a commit of an nft view sends: the one batch that turns the snapshot the view was read from into
// the view, touching nothing else (src/iptc/nft-view.ts); or, for a restore without --noflush, the batch
// that deletes and rebuilds the table, as iptables-nft-restore does. Each operation is tagged with the
// iptables command it stands for, so that a refusal names it (nftCommitError).
import { CommitError } from '../xtables/errors.js';
import type { Family } from '../xtables/shim.js';
import { errnoName } from '../netlink/errors.js';
import { NftBatch, type BatchOp, type RulePosition } from '../nft/batch.js';
import { NF_ACCEPT, NF_DROP } from '../nft/constants.js';
import type { NftBatchError } from '../nft/errors.js';
import { decoderFor, type NftRule } from '../nft/rule.js';
import { rulesOf, type NftSnapshot } from '../nft/snapshot.js';
import type { RawRule } from './table-backend.js';
import type { ViewChain } from './nft-view.js';
import { saveEntry } from './save.js';

/** The iptables command an operation stands for, worked out only when the kernel refuses it. */
export type Command = () => string;

/** A rule as iptables' command line gives it: `-A INPUT -p tcp ... -j ACCEPT`. */
function ruleCommand(family: Family, verb: string, raw: RawRule): string {
  const spec = saveEntry(family, raw.entry, raw.label, raw.standard);
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

/** Whether a rule's counter holds anything to zero (iptables-nft re-sends only those). */
function hasCounts(rule: NftRule): boolean {
  const c = rule.counters;
  return c.packets !== 0n || c.bytes !== 0n;
}

const policyCode = (policy: string | null): number => (policy === 'DROP' ? NF_DROP : NF_ACCEPT);

/**
 * The batch that turns the snapshot into the view, in an order the kernel accepts: table and builtin
 * chains, rule deletes and zeroes (on the chains' old names), chains deleted, renamed and created,
 * policies, then replaced and new rules, each placed after the rule before it.
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
    for (const nft of rulesOf(snap, k.name)) if (!kept.has(nft.handle)) body.push(() => batch.deleteRule(table, k.name, nft.handle, () => kernelRuleCommand(family, `-D ${k.name}`, nft)));
  }
  for (const c of chains) {
    for (const r of c.rules) if (r.kind === 'kernel' && r.zero && hasCounts(r.nft)) body.push(() => batch.rewriteRule(r.nft, undefined, () => `-Z ${c.name}`));
  }
  for (const k of snap.chains) {
    if (survivors.has(k.name)) continue;
    body.push(() => batch.flushRules(table, k.name, () => `-F ${k.name}`), () => batch.deleteChain(table, k.name, () => `-X ${k.name}`));
  }
  for (const c of chains) if (c.kernel && c.kernel.name !== c.name) body.push(() => batch.renameChain(table, c.kernel!.handle, c.name, () => `-E ${c.kernel!.name} ${c.name}`));
  for (const c of chains) if (!c.builtin && c.kernel === null) body.push(() => batch.addChain(table, c.name, () => `-N ${c.name}`));
  for (const c of chains) {
    if (!c.builtin || c.kernel === null) continue;
    if (c.newPolicy) body.push(() => batch.setPolicy(table, c.name, policyCode(c.policy), c.policyCounters, () => `-P ${c.name} ${c.policy}`));
    else if (c.zeroPolicy && c.kernel.counters) body.push(() => batch.setChainCounters(table, c.name, 0n, 0n, () => `-Z ${c.name}`));
  }
  for (const c of chains) {
    let before: RulePosition | undefined;
    c.rules.forEach((r, i) => {
      if (r.kind === 'kernel') {
        before = { handle: r.nft.handle };
        return;
      }
      const rule = { entry: r.raw.entry, standard: r.raw.standard };
      if (r.kind === 'replaced') {
        body.push(() => batch.replaceRule(table, c.name, r.nft.handle, rule, () => ruleCommand(family, `-R ${c.name} ${i + 1}`, r.raw)));
        before = { handle: r.nft.handle };
        return;
      }
      const after = before;
      const command = () => ruleCommand(family, i === c.rules.length - 1 ? `-A ${c.name}` : `-I ${c.name} ${i + 1}`, r.raw);
      // Its operation index is known once the batch is written, before the next rule refers to it.
      const slot = { op: -1 };
      body.push(() => {
        slot.op = after === undefined ? batch.insertRule(table, c.name, rule, undefined, command) : batch.appendRule(table, c.name, rule, after, command);
      });
      before = slot;
    });
  }
  if (body.length === 0 && missingBuiltins.length === 0) return batch;
  if (needsTable) batch.addTable(table, () => `*${table}`);
  for (const c of missingBuiltins) addBuiltin(batch, table, c);
  for (const write of body) write();
  return batch;
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
    let after: RulePosition | undefined;
    for (const r of c.rules) {
      // After a reset every rule of the view is new.
      if (r.kind !== 'new') throw new Error(`internal: a rule of chain \`${c.name}' survived the reset of table \`${table}'`);
      const rule = { entry: r.raw.entry, standard: r.raw.standard };
      const command = () => ruleCommand(family, `-A ${c.name}`, r.raw);
      after = { op: after === undefined ? batch.insertRule(table, c.name, rule, undefined, command) : batch.appendRule(table, c.name, rule, after, command) };
    }
  }
  return batch;
}
