// nf_tables rules as a dump returns them. A rule keeps its raw message (a view into the datagram it
// came in) and is decoded only when asked: reading 10,000 rules for their counters never builds an
// entry or an object per expression.
import { NlaTable, readStr, type NlaWriter } from '../netlink/attributes.js';
import { NFGENMSG_END } from '../netlink/constants.js';
import type { NetlinkSocket, NlMessage } from '../netlink/socket.js';
import type { Family } from '../xtables/shim.js';
import { NFT_MSG, NFTA_RULE } from './constants.js';
import { NFTA_COUNTER_EXPR } from './expr/counter.js';
import { EXPR, walkExprs } from './expr/element.js';
import { nftRequest } from './request.js';
import { RuleDecoder, type TranslatedRule } from './translate/decode.js';

/** A rule of a dump. */
export class NftRule {
  constructor(
    readonly family: number,
    readonly table: string,
    readonly chain: string,
    /** Where HANDLE and POSITION sit in `buf` (-1: absent): read when asked, no bigint per rule of a dump. */
    private readonly handleAt: number,
    private readonly positionAt: number,
    /** The datagram this rule was read from (shared with the rules around it). */
    readonly buf: Buffer,
    /** Where the rule's message (nlmsghdr included) sits in `buf`. */
    readonly off: number,
    readonly len: number,
    /** Offsets in `buf` of the EXPRESSIONS payload [exprOff, exprEnd) and of USERDATA (-1 absent). */
    readonly exprOff: number,
    readonly exprEnd: number,
    readonly udataOff: number,
    readonly udataLen: number,
  ) {}

  /** The kernel's handle: stable for the rule's life, never reused in the table. */
  get handle(): bigint {
    return this.handleAt >= 0 ? this.buf.readBigUInt64BE(this.handleAt) : 0n;
  }

  /** The handle of the rule before it in the chain, 0n for the first. */
  get position(): bigint {
    return this.positionAt >= 0 ? this.buf.readBigUInt64BE(this.positionAt) : 0n;
  }

  /** The message this rule was read from (nlmsghdr included). */
  get message(): Buffer {
    return this.buf.subarray(this.off, this.off + this.len);
  }

  /** Where the counter's values sit in `buf` (-1 when the rule has no counter). */
  #counterAt(): { packetsAt: number; bytesAt: number } {
    return findCounter(this.buf, this.exprOff, this.exprEnd);
  }

  /** The counter expression's values; 0 for a rule without one (as iptables-nft shows it). */
  get counters(): { packets: bigint; bytes: bigint } {
    const c = this.#counterAt();
    if (c.packetsAt < 0) return { packets: 0n, bytes: 0n };
    return { packets: this.buf.readBigUInt64BE(c.packetsAt), bytes: this.buf.readBigUInt64BE(c.bytesAt) };
  }

  /** Whether the rule has a counter expression (iptables' rules always do; plain nft's may not). */
  get hasCounter(): boolean {
    return this.#counterAt().packetsAt >= 0;
  }

  /**
   * The rule as an ipt_entry / ip6t_entry with label and standard flag (Rule.fromEntry's input).
   * Throws NftOpaqueRuleError when it has no iptables form that keeps its meaning.
   */
  toEntry(decoder: RuleDecoder = decoderFor(this.family)): TranslatedRule {
    return decoder.decode(this.buf, this.exprOff, this.exprEnd, this.udataOff, this.udataLen);
  }

  /** As toEntry(), the entry left in the decoder's `entryBuffer`; returns its size (see RuleDecoder.decodeInPlace). */
  decodeInPlace(decoder: RuleDecoder): number {
    return decoder.decodeInPlace(this.buf, this.exprOff, this.exprEnd, this.udataOff, this.udataLen);
  }

  /** The EXPRESSIONS payload, for re-sending the rule as it is (a replace that keeps it). */
  get expressions(): Buffer {
    return this.buf.subarray(this.exprOff, this.exprEnd);
  }
}

const decoders = new Map<number, RuleDecoder>();

/** A shared decoder for a netlink family (2 or 10). */
export function decoderFor(family: number): RuleDecoder {
  let d = decoders.get(family);
  if (!d) {
    d = new RuleDecoder((family === 10 ? 6 : 4) as Family);
    decoders.set(family, d);
  }
  return d;
}

const counterTable = new NlaTable(4);

/** Offsets of the first counter's PACKETS and BYTES in an EXPRESSIONS payload; -1 when none. */
export function findCounter(buf: Buffer, start: number, end: number): { packetsAt: number; bytesAt: number } {
  const found = { packetsAt: -1, bytesAt: -1 };
  walkExprs(buf, start, end, (span) => {
    if (span.kind !== EXPR.counter || span.dataOff < 0) return true;
    counterTable.parse(buf, span.dataOff, span.dataEnd);
    if (counterTable.lengths[NFTA_COUNTER_EXPR.PACKETS] === 8 && counterTable.has(NFTA_COUNTER_EXPR.PACKETS) &&
      counterTable.has(NFTA_COUNTER_EXPR.BYTES)) {
      found.packetsAt = counterTable.offsets[NFTA_COUNTER_EXPR.PACKETS]!;
      found.bytesAt = counterTable.offsets[NFTA_COUNTER_EXPR.BYTES]!;
    }
    return false;
  });
  return found;
}

const ruleTable = new NlaTable(12);

/** Names repeat rule after rule: the last one is reused when its bytes match. */
class NameCache {
  #bytes = Buffer.alloc(0);
  #name = '';
  get(buf: Buffer, off: number, len: number): string {
    let n = 0;
    while (n < len && buf[off + n] !== 0) n++;
    if (n === this.#bytes.length && this.#bytes.compare(buf, off, off + n) === 0) return this.#name;
    this.#bytes = Buffer.from(buf.subarray(off, off + n));
    this.#name = readStr(buf, off, n);
    return this.#name;
  }
}

const tableNames = new NameCache();
const chainNames = new NameCache();

/** Parses a NEWRULE message of a dump (or an echo) into a rule that views the message. */
export function parseRule(m: NlMessage): NftRule {
  const buf = m.buf;
  ruleTable.parse(buf, m.off + NFGENMSG_END, m.off + m.len);
  const o = ruleTable.offsets;
  const len = ruleTable.lengths;
  const exprOff = o[NFTA_RULE.EXPRESSIONS]!;
  return new NftRule(
    buf[m.off + 16]!,
    o[NFTA_RULE.TABLE]! >= 0 ? tableNames.get(buf, o[NFTA_RULE.TABLE]!, len[NFTA_RULE.TABLE]!) : '',
    o[NFTA_RULE.CHAIN]! >= 0 ? chainNames.get(buf, o[NFTA_RULE.CHAIN]!, len[NFTA_RULE.CHAIN]!) : '',
    len[NFTA_RULE.HANDLE]! >= 8 ? o[NFTA_RULE.HANDLE]! : -1,
    len[NFTA_RULE.POSITION]! >= 8 ? o[NFTA_RULE.POSITION]! : -1,
    buf,
    m.off,
    m.len,
    exprOff,
    exprOff >= 0 ? exprOff + len[NFTA_RULE.EXPRESSIONS]! : -1,
    o[NFTA_RULE.USERDATA]!,
    o[NFTA_RULE.USERDATA]! >= 0 ? len[NFTA_RULE.USERDATA]! : 0,
  );
}

export interface RuleDumpOptions {
  /** Only this chain's rules. */
  chain?: string;
  /** GETRULE_RESET: zero each rule's counters as it is read (Linux 6.2+). */
  reset?: boolean;
}

function dumpAttrs(table: string, chain: string | undefined) {
  return (w: NlaWriter) => {
    w.str(NFTA_RULE.TABLE, table);
    if (chain !== undefined) w.str(NFTA_RULE.CHAIN, chain);
  };
}

/**
 * The rules of a table (of one chain with `chain`), in chain order; chains come as the kernel lists
 * them. With `reset`, the counters read are zeroed in the kernel in the same pass.
 *
 * Equivalent to: `nft -a list table ip filter` (with `reset`: `nft reset rules table ip filter`)
 */
export function dumpRules(sock: NetlinkSocket, family: number, table: string, opts: RuleDumpOptions = {}): NftRule[] {
  const rules: NftRule[] = [];
  const msg = opts.reset ? NFT_MSG.GETRULE_RESET : NFT_MSG.GETRULE;
  nftRequest(sock, msg, family, true, dumpAttrs(table, opts.chain), (m) => {
    if ((m.type & 0xff) === NFT_MSG.NEWRULE) rules.push(parseRule(m));
  }, true);
  return rules;
}

/**
 * Calls fn(chain, handle, packets, bytes) for every rule of a table, reading nothing but the counters:
 * no rule object, no copy of the dump. Rules without a counter report 0.
 *
 * Equivalent to: the `[packets:bytes]` of `iptables-nft-save -c -t TABLE`
 */
export function walkCounters(sock: NetlinkSocket, family: number, table: string,
  fn: (chain: string, handle: bigint, packets: bigint, bytes: bigint) => void, opts: RuleDumpOptions = {}): void {
  const msg = opts.reset ? NFT_MSG.GETRULE_RESET : NFT_MSG.GETRULE;
  nftRequest(sock, msg, family, true, dumpAttrs(table, opts.chain), (m) => {
    if ((m.type & 0xff) !== NFT_MSG.NEWRULE) return;
    const buf = m.buf;
    ruleTable.parse(buf, m.off + NFGENMSG_END, m.off + m.len);
    const o = ruleTable.offsets;
    const len = ruleTable.lengths;
    const chain = o[NFTA_RULE.CHAIN]! >= 0 ? chainNames.get(buf, o[NFTA_RULE.CHAIN]!, len[NFTA_RULE.CHAIN]!) : '';
    const handle = o[NFTA_RULE.HANDLE]! >= 0 ? buf.readBigUInt64BE(o[NFTA_RULE.HANDLE]!) : 0n;
    const exprs = o[NFTA_RULE.EXPRESSIONS]!;
    const c = exprs >= 0 ? findCounter(buf, exprs, exprs + len[NFTA_RULE.EXPRESSIONS]!) : { packetsAt: -1, bytesAt: -1 };
    if (c.packetsAt < 0) fn(chain, handle, 0n, 0n);
    else fn(chain, handle, buf.readBigUInt64BE(c.packetsAt), buf.readBigUInt64BE(c.bytesAt));
  });
}
