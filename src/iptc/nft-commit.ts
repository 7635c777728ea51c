// What a commit of an nft view sends: the one batch that turns the snapshot the view was read from into
// the view, touching nothing else (src/iptc/nft-view.ts).
import type { Family } from '../xtables/shim.js';
import { NftBatch } from '../nft/batch.js';
import { NF_ACCEPT, NF_DROP } from '../nft/constants.js';
import type { NftRule } from '../nft/rule.js';
import { rulesOf, type NftSnapshot } from '../nft/snapshot.js';
import type { ViewChain, ViewRule } from './nft-view.js';

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
export function buildBatch(family: Family, table: string, snap: NftSnapshot, chains: ViewChain[]): NftBatch {
  const batch = new NftBatch(family);
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
    if (gone.length > 1 && gone.length === old.length) body.push(() => batch.flushRules(table, k.name));
    else for (const nft of gone) body.push(() => batch.deleteRule(table, k.name, nft.handle));
  }
  for (const c of chains) {
    for (const r of c.rules) if (r.kind === 'kernel' && r.zero && hasCounts(r.nft)) body.push(() => batch.rewriteRule(r.nft));
  }
  for (const k of snap.chains) {
    if (survivors.has(k.name)) continue;
    body.push(() => batch.flushRules(table, k.name), () => batch.deleteChain(table, k.name));
  }
  for (const c of chains) if (c.kernel && c.kernel.name !== c.name) body.push(() => batch.renameChain(table, c.kernel!.handle, c.name));
  for (const c of chains) if (!c.builtin && c.kernel === null) body.push(() => batch.addChain(table, c.name));
  for (const c of chains) {
    if (!c.builtin || c.kernel === null) continue;
    if (c.newPolicy) body.push(() => batch.setPolicy(table, c.name, policyCode(c.policy), c.policyCounters));
    else if (c.zeroPolicy && c.kernel.counters) body.push(() => batch.setChainCounters(table, c.name, 0n, 0n));
  }
  for (const c of chains) {
    for (const r of c.rules) if (r.kind === 'replaced') body.push(() => batch.replaceRule(table, c.name, r.nft.handle, entryRule(r.raw)));
    placeNewRules(batch, table, c, body);
  }
  if (body.length === 0 && missingBuiltins.length === 0) return batch;
  if (needsTable) batch.addTable(table);
  for (const c of missingBuiltins) {
    batch.addBuiltinChain(table, c.name, { policy: policyCode(c.policy), counters: c.policyCounters });
  }
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
function placeNewRules(batch: NftBatch, table: string, c: ViewChain, body: (() => void)[]): void {
  const rules = c.rules;
  let i = 0;
  while (i < rules.length) {
    if (rules[i]!.kind !== 'new') {
      i++;
      continue;
    }
    let end = i;
    while (end < rules.length && rules[end]!.kind === 'new') end++;
    const run = rules.slice(i, end) as Extract<ViewRule, { kind: 'new' }>[];
    const anchor = i > 0 ? (rules[i - 1] as Exclude<ViewRule, { kind: 'new' }>).nft.handle : null;
    if (end === rules.length) {
      body.push(() => {
        for (const r of run) batch.appendRule(table, c.name, entryRule(r.raw));
      });
    } else if (anchor === null) {
      body.push(() => {
        for (let k = run.length - 1; k >= 0; k--) batch.insertRule(table, c.name, entryRule(run[k]!.raw));
      });
    } else {
      body.push(() => {
        for (let k = run.length - 1; k >= 0; k--) batch.appendRule(table, c.name, entryRule(run[k]!.raw), { handle: anchor });
      });
    }
    i = end;
  }
}
