// What a commit of an nft view sends: the one batch that turns the snapshot the view was read from into
// the view, touching nothing else (src/iptc/nft-view.ts).
import type { Family } from '../xtables/shim.js';
import { NftBatch, type RulePosition } from '../nft/batch.js';
import { NF_ACCEPT, NF_DROP } from '../nft/constants.js';
import type { NftRule } from '../nft/rule.js';
import { rulesOf, type NftSnapshot } from '../nft/snapshot.js';
import type { ViewChain } from './nft-view.js';

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
    for (const nft of rulesOf(snap, k.name)) if (!kept.has(nft.handle)) body.push(() => batch.deleteRule(table, k.name, nft.handle));
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
    let before: RulePosition | undefined;
    for (const r of c.rules) {
      if (r.kind === 'kernel') {
        before = { handle: r.nft.handle };
        continue;
      }
      const rule = { entry: r.raw.entry, standard: r.raw.standard };
      if (r.kind === 'replaced') {
        body.push(() => batch.replaceRule(table, c.name, r.nft.handle, rule));
        before = { handle: r.nft.handle };
        continue;
      }
      const after = before;
      // Its operation index is known once the batch is written, before the next rule refers to it.
      const slot = { op: -1 };
      body.push(() => {
        slot.op = after === undefined ? batch.insertRule(table, c.name, rule) : batch.appendRule(table, c.name, rule, after);
      });
      before = slot;
    }
  }
  if (body.length === 0 && missingBuiltins.length === 0) return batch;
  if (needsTable) batch.addTable(table);
  for (const c of missingBuiltins) {
    batch.addBuiltinChain(table, c.name, { policy: policyCode(c.policy), counters: c.policyCounters });
  }
  for (const write of body) write();
  return batch;
}
