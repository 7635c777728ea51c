// The exporter's reading of iptables' tables in nf_tables (what iptables-nft manages): one consistent
// snapshot per table, as ScannedChains, so that the exporter labels and counts them as it does legacy
// tables. Rules are decoded only when the series need their labels; counters come from the raw dump.
import { createHash } from 'node:crypto';
import { NetlinkSocket } from '../netlink/socket.js';
import { BUILTIN_TABLES, chainCompatibility } from '../nft/chain.js';
import { NF_DROP } from '../nft/constants.js';
import { useNftRevisionProbe } from '../nft/compat.js';
import { NftOpaqueRuleError } from '../nft/errors.js';
import { decoderFor, findCounter, type NftRule } from '../nft/rule.js';
import { incompatibleChains, readSnapshot, rulesOf } from '../nft/snapshot.js';
import { NftIncompatibleTableError } from '../iptc/nft-backend.js';
import { NftForeignRuleError } from '../iptc/nft-foreign-rule.js';
import type { Family } from '../xtables/shim.js';
import type { ScannedChain, ScannedRule } from '../xtables/table-scan.js';

const nfproto = (family: Family): number => (family === 6 ? 10 : 2);

/** The rule's identity, counters aside: its expressions with the counter's values skipped, and its user data. */
function ruleDigest(rule: NftRule): string {
  const hash = createHash('sha1');
  const { buf, exprOff, exprEnd } = rule;
  if (exprOff >= 0) {
    const c = findCounter(buf, exprOff, exprEnd);
    const skip = c.packetsAt < 0 ? [] : [c.packetsAt, c.bytesAt].sort((a, b) => a - b);
    let at = exprOff;
    for (const s of skip) {
      hash.update(buf.subarray(at, s));
      at = s + 8;
    }
    hash.update(buf.subarray(at, exprEnd));
  }
  hash.update('\0');
  if (rule.udataOff >= 0) hash.update(buf.subarray(rule.udataOff, rule.udataOff + rule.udataLen));
  return hash.digest('binary');
}

/** Reads nf_tables tables for the exporter; one netlink socket, kept between reads. */
export class NftTableScanner {
  #sock: NetlinkSocket | null = null;

  /**
   * The chains of `table` of a family as iptables-nft-save lists them (builtin chains present in the
   * kernel in hook order, then user chains by strcmp). A table with base chains iptables does not know
   * is NftIncompatibleTableError, as iptables-nft refuses it. A rule iptables cannot express keeps its
   * counters; rule() then throws NftForeignRuleError naming its handle.
   */
  read(family: Family, table: string): ScannedChain[] {
    if (this.#sock === null || this.#sock.closed) {
      this.#sock = new NetlinkSocket();
      // Decoding rules asks extension revisions of nft_compat, never of the legacy getsockopt.
      useNftRevisionProbe();
    }
    const snap = readSnapshot(this.#sock, nfproto(family), table);
    const foreign = incompatibleChains(snap);
    if (foreign.length > 0) throw new NftIncompatibleTableError(table, foreign.map((c) => c.name));
    const builtins = Object.hasOwn(BUILTIN_TABLES, table) ? Object.keys(BUILTIN_TABLES[table]!) : [];
    const present = snap.chains.filter((c) => chainCompatibility(c) !== 'incompatible');
    const ordered = [
      ...builtins.flatMap((name) => present.filter((c) => c.name === name && c.hook !== null)),
      ...present
        .filter((c) => c.hook === null)
        .sort((a, b) => Buffer.compare(Buffer.from(a.name, 'latin1'), Buffer.from(b.name, 'latin1'))),
    ];
    const decoder = decoderFor(nfproto(family));
    return ordered.map((chain): ScannedChain => {
      const rules = rulesOf(snap, chain.name);
      const counters = new Uint32Array(rules.length * 4);
      const digests = rules.map(ruleDigest);
      rules.forEach((r, i) => {
        const { packets, bytes } = r.counters;
        counters[i * 4] = Number(packets & 0xffffffffn);
        counters[i * 4 + 1] = Number(packets >> 32n);
        counters[i * 4 + 2] = Number(bytes & 0xffffffffn);
        counters[i * 4 + 3] = Number(bytes >> 32n);
      });
      const policy = chain.hook === null
        ? null
        : { name: chain.policy === NF_DROP ? 'DROP' : 'ACCEPT', packets: chain.counters?.packets ?? 0n, bytes: chain.counters?.bytes ?? 0n };
      return {
        name: chain.name,
        builtin: chain.hook !== null,
        policy,
        count: rules.length,
        counters,
        digest: createHash('sha1').update(digests.join('')).digest('binary'),
        ruleDigest: (i) => digests[i]!,
        rule: (i): ScannedRule => {
          const rule = rules[i]!;
          try {
            return rule.toEntry(decoder);
          } catch (e) {
            if (e instanceof NftOpaqueRuleError) throw new NftForeignRuleError(table, chain.name, rule.handle, e);
            throw e;
          }
        },
      };
    });
  }

  close(): void {
    this.#sock?.close();
    this.#sock = null;
  }
}
