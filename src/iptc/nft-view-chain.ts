// A chain of an nft table view (src/iptc/nft-view.ts) and its rules. A rule read from the kernel is
// decoded into an iptables entry only when first needed, and a rule iptables cannot express is
// remembered as such: asking for it throws NftForeignRuleError, and the view refuses to edit its chain.
import { entryLayout, standardTarget } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import type { NftChain } from '../nft/chain.js';
import { NF_DROP } from '../nft/constants.js';
import { NftOpaqueRuleError } from '../nft/errors.js';
import { decoderFor, type NftRule } from '../nft/rule.js';
import { rulesOf, type NftSnapshot } from '../nft/snapshot.js';
import { NftForeignRuleError } from './nft-foreign-rule.js';
import { addRawRule, RecordWriter } from './nft-read.js';
import type { RawRule } from './table-backend.js';

/** A rule of the view: as read (maybe to be zeroed), read and replaced in place, or new. */
export type ViewRule =
  | { kind: 'kernel'; nft: NftRule; raw: RawRule | null; opaque: NftOpaqueRuleError | null; zero: boolean }
  | { kind: 'replaced'; nft: NftRule; raw: RawRule }
  | { kind: 'new'; raw: RawRule };

type KernelRule = Extract<ViewRule, { kind: 'kernel' }>;

export interface ViewChain {
  name: string;
  builtin: boolean;
  /** The kernel chain it was read as; null for a chain the view made (or a builtin chain not there yet). */
  kernel: NftChain | null;
  policy: string | null;
  policyCounters: { packets: bigint; bytes: bigint };
  /** A policy to set at commit (with counters, as iptables-nft's -P sets them). */
  newPolicy: boolean;
  zeroPolicy: boolean;
  /** Edited: a builtin chain missing in the kernel is created at commit. */
  touched: boolean;
  /** Every rule read from the kernel was found expressible: edits need not look again. */
  checked: boolean;
  rules: ViewRule[];
}

/** A chain as the snapshot holds it; `kernel` null for a builtin chain not in the kernel yet. */
export function kernelChain(snap: NftSnapshot, name: string, builtin: boolean, kernel: NftChain | null): ViewChain {
  const rules: ViewRule[] = kernel
    ? rulesOf(snap, name).map((nft) => ({ kind: 'kernel', nft, raw: null, opaque: null, zero: false }))
    : [];
  return {
    name, builtin, kernel, rules,
    policy: builtin ? (kernel?.policy === NF_DROP ? 'DROP' : 'ACCEPT') : null,
    policyCounters: kernel?.counters ?? { packets: 0n, bytes: 0n },
    newPolicy: false, zeroPolicy: false, touched: false, checked: rules.length === 0,
  };
}

/** A user chain the view makes (created at commit). */
export function newChain(name: string): ViewChain {
  return {
    name, builtin: false, kernel: null, policy: null, policyCounters: { packets: 0n, bytes: 0n },
    newPolicy: false, zeroPolicy: false, touched: true, checked: true, rules: [],
  };
}

/**
 * What a kernel rule's decoding threw, as the caller should see it: a rule iptables cannot express is
 * remembered and named by its table, chain and handle; any other error is the caller's as it is.
 */
function refusal(snap: NftSnapshot, c: ViewChain, r: KernelRule, e: unknown): unknown {
  if (!(e instanceof NftOpaqueRuleError)) return e;
  r.opaque = e;
  return new NftForeignRuleError(snap.tableName, c.name, r.nft.handle, e);
}

/** A kernel rule decoded into a fresh entry. */
function decoded(snap: NftSnapshot, c: ViewChain, r: KernelRule): RawRule {
  try {
    const t = r.nft.toEntry(decoderFor(snap.family));
    return { entry: t.entry, label: t.label, standard: t.standard };
  } catch (e) {
    throw refusal(snap, c, r, e);
  }
}

/** A rule as iptables sees it (decoded once, then kept); throws NftForeignRuleError for one it cannot express. */
export function rawRule(snap: NftSnapshot, c: ViewChain, r: ViewRule): RawRule {
  if (r.kind !== 'kernel') return r.raw;
  if (r.opaque) throw new NftForeignRuleError(snap.tableName, c.name, r.nft.handle, r.opaque);
  r.raw ??= decoded(snap, c, r);
  return r.raw;
}

/** A rule as iptables sees it, or null for one it cannot express. */
export function readableRule(snap: NftSnapshot, c: ViewChain, r: ViewRule): RawRule | null {
  try {
    return rawRule(snap, c, r);
  } catch (e) {
    if (e instanceof NftForeignRuleError) return null;
    throw e;
  }
}

/**
 * A copy of the rule for the caller to keep. A kernel rule not decoded yet is decoded into a fresh
 * entry and not kept: a view that is only read (most are) decodes each rule once and copies nothing.
 */
export function ownedRule(snap: NftSnapshot, c: ViewChain, r: ViewRule): RawRule {
  if (r.kind !== 'kernel' || r.raw !== null || r.opaque !== null) return copyRule(rawRule(snap, c, r));
  return decoded(snap, c, r);
}

/**
 * The rules as one dump's records: a kernel rule not decoded yet is decoded straight into it (and not
 * kept, as ownedRule), the others copied. null when a record cannot carry a rule (see RecordWriter.add).
 */
export function ruleRecords(snap: NftSnapshot, family: Family, c: ViewChain, list: readonly ViewRule[]): RecordWriter | null {
  const w = new RecordWriter(list.length * 512);
  const decoder = decoderFor(snap.family);
  for (const r of list) {
    if (r.kind === 'kernel' && r.raw === null && r.opaque === null) {
      let size: number;
      try {
        size = r.nft.decodeInPlace(decoder);
      } catch (e) {
        throw refusal(snap, c, r, e);
      }
      if (!w.add(decoder.entryBuffer, size, decoder.label, decoder.standard)) return null;
    } else if (!addRawRule(w, family, rawRule(snap, c, r))) {
      return null;
    }
  }
  return w;
}

const copyRule = (raw: RawRule): RawRule => ({ entry: Buffer.from(raw.entry), label: raw.label, standard: raw.standard });

/** The entry with a standard target's label in its name field, as Rule.toEntry builds it. */
export function inputForm(family: Family, rule: RawRule): Buffer {
  if (!rule.standard) return rule.entry;
  const l = entryLayout(family);
  const entry = Buffer.from(rule.entry);
  const target = entry.readUInt16LE(l.targetOffset);
  standardTarget(rule.label).copy(entry, target);
  return entry;
}
