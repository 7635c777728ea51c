// One nf_tables transaction: BATCH_BEGIN{GENID}, the NEW/DEL messages, BATCH_END, sent in one sendmsg
// (iptables/nft.c nft_action). The kernel runs every message, reports each failure under the message's
// sequence number, and commits only when none failed; with GENID set it refuses the whole batch with
// ERESTART if the ruleset moved since. Rules are encoded straight into the batch buffer as they are
// added, so a rule that cannot be written is refused at once, naming the operation.
import { NlaWriter } from '../netlink/attributes.js';
import {
  NFNL_BATCH_GENID,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_ECHO,
  NLM_F_EXCL,
  NLM_F_NONREC,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NLMSG_ERROR,
} from '../netlink/constants.js';
import { errnoName, NetlinkSocketError, type ExtAck } from '../netlink/errors.js';
import { parseError, type NetlinkSocket } from '../netlink/socket.js';
import type { Family } from '../xtables/shim.js';
import { builtinChain, writeBuiltinChain, writeChainCounters, writeChainName } from './chain.js';
import { ERESTART, NF_ACCEPT, NFPROTO_IPV4, NFPROTO_IPV6, NFT_MSG, NFTA_CHAIN, NFTA_RULE, nftType } from './constants.js';
import { NftBatchError, NftCommitUnknownError, NftGenerationError, NftTranslateError, type BatchFailure } from './errors.js';
import { parseRule, type NftRule } from './rule.js';
import { writeTableAttrs } from './table.js';
import { writeRuleBody, type EncodeOptions } from './translate/encode.js';
import { rawRuleBody } from './translate/raw.js';

const ENOBUFS = 105;

/** An iptables rule to write: the entry, and what the entry alone does not say (see EncodeOptions). */
export interface EntryRule extends EncodeOptions {
  entry: Buffer;
}

/** Where a new rule goes: after/before a rule by kernel handle, or by the index of a rule added earlier in this batch. */
export type RulePosition = { handle: bigint } | { op: number };

export type BatchOpKind =
  | 'newTable' | 'deleteTable' | 'newChain' | 'updateChain' | 'renameChain' | 'deleteChain'
  | 'newRule' | 'replaceRule' | 'deleteRule' | 'flushRules';

/** One operation of a batch: what it was, and the caller's tag (the rule object, a restore line...). */
export interface BatchOp<Tag = unknown> {
  kind: BatchOpKind;
  table: string;
  chain?: string;
  handle?: bigint;
  tag?: Tag;
  /** Offset of the operation's message in the batch buffer. */
  at: number;
}

export interface CommitResult {
  /** The generation after the commit, when the kernel echoed it (with `echo`). */
  genid: number | null;
  /** The handle of each new or replaced rule, by operation index (with `echo`). */
  handles: Map<number, bigint>;
  /** The rules as the kernel echoed them (with `echo`), by operation index. */
  rules: Map<number, NftRule>;
}

export interface CommitOptions {
  /** The generation the batch was built on; the kernel refuses it with ERESTART if the ruleset moved. 0: no check. */
  genid?: number;
  /** Ask the kernel to echo new rules (their handles) and the new generation. */
  echo?: boolean;
}

const BEGIN_SIZE = 28;

/**
 * A transaction being built for one family's tables. Each method appends one message and returns the
 * operation's index; commit() sends them all at once.
 */
export class NftBatch<Tag = unknown> {
  /** The family of the operations added from now on (NFPROTO_IPV4 or NFPROTO_IPV6); see setFamily. */
  family: number;
  readonly ops: BatchOp<Tag>[] = [];
  readonly #w = new NlaWriter(64 * 1024);
  #committed = false;

  constructor(family: Family | number) {
    this.family = family === 6 || family === NFPROTO_IPV6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
    // BATCH_BEGIN's place: written at commit, when the generation and sequence numbers are known.
    this.#w.pos = BEGIN_SIZE;
  }

  /**
   * Switches the family of the operations added from now on: one transaction may change the tables of
   * both families (Table.commitAll of an IPv4 and an IPv6 table).
   */
  setFamily(family: Family | number): void {
    this.family = family === 6 || family === NFPROTO_IPV6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  }

  get size(): number {
    return this.ops.length;
  }

  /** Bytes the batch will send. */
  get bytes(): number {
    return this.#w.pos + 20;
  }

  #op(kind: BatchOpKind, msg: number, flags: number, table: string, body: (w: NlaWriter) => void, extra: Partial<BatchOp<Tag>> = {}): number {
    if (this.#committed) throw new Error('this nf_tables batch was already committed');
    const w = this.#w;
    const at = w.pos;
    w.beginMessage(nftType(msg), NLM_F_REQUEST | flags, 0, this.family);
    try {
      body(w);
    } catch (e) {
      w.pos = at;
      throw e;
    }
    w.finishMessage(at);
    this.ops.push({ kind, table, at, ...extra });
    return this.ops.length - 1;
  }

  /**
   * Creates the table if missing.
   *
   * Equivalent to: `nft add table ip filter` (what every iptables-nft command sends first)
   */
  addTable(table: string, tag?: Tag): number {
    return this.#op('newTable', NFT_MSG.NEWTABLE, NLM_F_CREATE, table, (w) => writeTableAttrs(w, table), { tag });
  }

  /**
   * Deletes the table with every chain and rule in it.
   *
   * Equivalent to: `nft delete table ip filter` (iptables-nft-restore's first step for each table)
   */
  deleteTable(table: string, tag?: Tag): number {
    return this.#op('deleteTable', NFT_MSG.DELTABLE, 0, table, (w) => writeTableAttrs(w, table), { tag });
  }

  /**
   * Creates a builtin chain (with iptables' exact hook, priority and type), with policy counters so that
   * they can be read and zeroed. Only for a chain the view lacks, as iptables-nft does: on an existing
   * chain the kernel takes it as an update, and the policy and its counters are set anew.
   *
   * Equivalent to: the NEWCHAIN iptables-nft sends on first use of `-A INPUT`
   */
  addBuiltinChain(table: string, chain: string, opts: { policy?: number; counters?: { packets: bigint; bytes: bigint } } = {}, tag?: Tag): number {
    const builtin = builtinChain(table, chain);
    if (!builtin) throw new NftTranslateError(`${chain} is not a builtin chain of table ${table}`);
    return this.#op('newChain', NFT_MSG.NEWCHAIN, NLM_F_CREATE, table, (w) => {
      writeBuiltinChain(w, table, chain, builtin, opts.policy ?? NF_ACCEPT, opts.counters ?? { packets: 0n, bytes: 0n });
    }, { chain, tag });
  }

  /**
   * Creates a user chain; fails with EEXIST if it exists.
   *
   * Equivalent to: `iptables -N CHAIN`
   */
  addChain(table: string, chain: string, tag?: Tag): number {
    return this.#op('newChain', NFT_MSG.NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, table, (w) => writeChainName(w, table, chain), { chain, tag });
  }

  /**
   * Sets a builtin chain's policy and its policy counters (iptables-nft's -P resets them to 0).
   *
   * Equivalent to: `iptables -P INPUT DROP`
   */
  setPolicy(table: string, chain: string, policy: number, counters: { packets: bigint; bytes: bigint } = { packets: 0n, bytes: 0n },
    tag?: Tag): number {
    const builtin = builtinChain(table, chain);
    if (!builtin) throw new NftTranslateError(`${chain} is not a builtin chain of table ${table}: only those have a policy`);
    return this.#op('updateChain', NFT_MSG.NEWCHAIN, 0, table, (w) => writeBuiltinChain(w, table, chain, builtin, policy, counters),
      { chain, tag });
  }

  /**
   * Sets a base chain's policy counters (to 0 for a zero).
   *
   * Equivalent to: the chain part of `iptables -Z INPUT`
   */
  setChainCounters(table: string, chain: string, packets: bigint, bytes: bigint, tag?: Tag): number {
    return this.#op('updateChain', NFT_MSG.NEWCHAIN, 0, table, (w) => {
      writeChainName(w, table, chain);
      writeChainCounters(w, packets, bytes);
    }, { chain, tag });
  }

  /**
   * Renames a chain, found by its handle.
   *
   * Equivalent to: `iptables -E OLD NEW`
   */
  renameChain(table: string, handle: bigint, newName: string, tag?: Tag): number {
    return this.#op('renameChain', NFT_MSG.NEWCHAIN, 0, table, (w) => {
      w.str(NFTA_CHAIN.TABLE, table);
      w.u64be(NFTA_CHAIN.HANDLE, handle);
      w.str(NFTA_CHAIN.NAME, newName);
    }, { chain: newName, handle, tag });
  }

  /**
   * Deletes a chain; the kernel refuses (EBUSY) one that still has rules or references.
   *
   * Equivalent to: `iptables -X CHAIN`
   */
  deleteChain(table: string, chain: string, tag?: Tag): number {
    return this.#op('deleteChain', NFT_MSG.DELCHAIN, NLM_F_NONREC, table, (w) => writeChainName(w, table, chain), { chain, tag });
  }

  #ruleHeader(w: NlaWriter, table: string, chain: string, opIndex: number): void {
    w.str(NFTA_RULE.TABLE, table);
    w.str(NFTA_RULE.CHAIN, chain);
    w.u32be(NFTA_RULE.ID, opIndex + 1);
  }

  #position(w: NlaWriter, position: RulePosition | undefined): void {
    if (position === undefined) return;
    if ('handle' in position) w.u64be(NFTA_RULE.POSITION, position.handle);
    else {
      const op = this.ops[position.op];
      if (!op || op.kind !== 'newRule') throw new RangeError(`operation ${position.op} of this batch is not a new rule`);
      w.u32be(NFTA_RULE.POSITION_ID, position.op + 1);
    }
  }

  /**
   * Appends a rule to a chain, or puts it right after the rule at `after`.
   *
   * Equivalent to: `iptables -A CHAIN rule`
   */
  appendRule(table: string, chain: string, rule: EntryRule, after?: RulePosition, tag?: Tag): number {
    const index = this.ops.length;
    return this.#op('newRule', NFT_MSG.NEWRULE, NLM_F_CREATE | NLM_F_APPEND, table, (w) => {
      this.#ruleHeader(w, table, chain, index);
      this.#position(w, after);
      writeRuleBody(w, this.#entryFamily(), rule.entry, rule);
    }, { chain, tag });
  }

  /**
   * Inserts a rule before the rule at `before`, or at the head of the chain.
   *
   * Equivalent to: `iptables -I CHAIN [N] rule` (N resolved to the handle of the rule now at N)
   */
  insertRule(table: string, chain: string, rule: EntryRule, before?: RulePosition, tag?: Tag): number {
    const index = this.ops.length;
    return this.#op('newRule', NFT_MSG.NEWRULE, NLM_F_CREATE, table, (w) => {
      this.#ruleHeader(w, table, chain, index);
      this.#position(w, before);
      writeRuleBody(w, this.#entryFamily(), rule.entry, rule);
    }, { chain, tag });
  }

  /**
   * Replaces the rule with `handle` in place; the kernel keeps the handle.
   *
   * Equivalent to: `iptables -R CHAIN N rule`
   */
  replaceRule(table: string, chain: string, handle: bigint, rule: EntryRule, tag?: Tag): number {
    return this.#op('replaceRule', NFT_MSG.NEWRULE, NLM_F_CREATE | NLM_F_REPLACE, table, (w) => {
      w.str(NFTA_RULE.TABLE, table);
      w.str(NFTA_RULE.CHAIN, chain);
      w.u64be(NFTA_RULE.HANDLE, handle);
      writeRuleBody(w, this.#entryFamily(), rule.entry, rule);
    }, { chain, handle, tag });
  }

  /**
   * Re-sends a rule read from the kernel as it is, with its counter set to `counters` (0 for a zero),
   * in place. Rules iptables cannot read are re-sent unchanged too: nothing is decoded.
   *
   * Equivalent to: `iptables -Z CHAIN N` (a REPLACE with the counter at 0, iptables/nft.c)
   */
  rewriteRule(rule: NftRule, counters: { packets: bigint; bytes: bigint } = { packets: 0n, bytes: 0n }, tag?: Tag): number {
    return this.#op('replaceRule', NFT_MSG.NEWRULE, NLM_F_CREATE | NLM_F_REPLACE, rule.table, (w) => {
      w.str(NFTA_RULE.TABLE, rule.table);
      w.str(NFTA_RULE.CHAIN, rule.chain);
      w.u64be(NFTA_RULE.HANDLE, rule.handle);
      rawRuleBody(w, rule, counters);
    }, { chain: rule.chain, handle: rule.handle, tag });
  }

  /**
   * Deletes the rule with `handle`.
   *
   * Equivalent to: `iptables -D CHAIN N` (N resolved to the rule's handle)
   */
  deleteRule(table: string, chain: string, handle: bigint, tag?: Tag): number {
    return this.#op('deleteRule', NFT_MSG.DELRULE, 0, table, (w) => {
      w.str(NFTA_RULE.TABLE, table);
      w.str(NFTA_RULE.CHAIN, chain);
      w.u64be(NFTA_RULE.HANDLE, handle);
    }, { chain, handle, tag });
  }

  /**
   * Deletes every rule of a chain, or of the whole table without `chain`.
   *
   * Equivalent to: `iptables -F [CHAIN]`
   */
  flushRules(table: string, chain?: string, tag?: Tag): number {
    return this.#op('flushRules', NFT_MSG.DELRULE, 0, table, (w) => {
      w.str(NFTA_RULE.TABLE, table);
      if (chain !== undefined) w.str(NFTA_RULE.CHAIN, chain);
    }, { ...(chain !== undefined && { chain }), tag });
  }

  #entryFamily(): Family {
    return this.family === NFPROTO_IPV6 ? 6 : 4;
  }

  /**
   * Sends the batch in one sendmsg and reads the kernel's answers. Throws NftGenerationError
   * (ERESTART) when `genid` is stale, NftBatchError listing every refused operation otherwise; in both
   * cases nothing was applied. An empty batch sends nothing.
   */
  commit(sock: NetlinkSocket, opts: CommitOptions = {}): CommitResult {
    if (this.#committed) throw new Error('this nf_tables batch was already committed');
    this.#committed = true;
    const result: CommitResult = { genid: null, handles: new Map(), rules: new Map() };
    const n = this.ops.length;
    if (n === 0) return result;
    const w = this.#w;
    const first = sock.reserveSeqs(n + 2);
    const echo = opts.echo === true;
    // Sequence numbers, ECHO on new rules, and ACK on the last message: its answer comes after every
    // other answer of the batch, so it marks the end of what the kernel has to say. The new generation
    // is echoed when the first message after BEGIN asks for an echo (the kernel reads the flag there).
    for (let i = 0; i < n; i++) {
      const op = this.ops[i]!;
      w.buf.writeUInt32LE(first + 1 + i, op.at + 8);
      let flags = w.buf.readUInt16LE(op.at + 6);
      if (echo && (i === 0 || op.kind === 'newRule' || op.kind === 'replaceRule')) flags |= NLM_F_ECHO;
      if (i === n - 1) flags |= NLM_F_ACK;
      w.buf.writeUInt16LE(flags, op.at + 6);
    }
    const end = w.pos;
    w.beginMessage(NFNL_MSG_BATCH_END, NLM_F_REQUEST, first + n + 1, 0, NFNL_SUBSYS_NFTABLES);
    w.finishMessage(end);
    const total = w.pos;
    w.pos = 0;
    w.beginMessage(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, first, 0, NFNL_SUBSYS_NFTABLES);
    w.u32be(NFNL_BATCH_GENID, opts.genid ?? 0);
    w.finishMessage(0);
    w.pos = total;

    const batch = w.buf.subarray(0, total);
    sock.ensureSendBuffer(total);
    // Room for every answer: an echo of each rule, or an error quoting each message, with overhead.
    sock.ensureReceiveBuffer((echo ? 2 : 1) * total + n * 256 + (1 << 20));
    sock.send(batch);
    const failures = this.#drain(sock, first, result);
    if (failures.length === 0) return result;
    const batchLevel = failures.find((f) => f.index < 0);
    if (batchLevel?.errno === ERESTART) throw new NftGenerationError(opts.genid ?? 0);
    throw new NftBatchError(describe(failures), failures);
  }

  /** Reads answers until the last message's ACK (or a batch-level error), then whatever else is queued. */
  #drain(sock: NetlinkSocket, first: number, result: CommitResult): BatchFailure<BatchOp<Tag>>[] {
    const n = this.ops.length;
    const last = first + n;
    const failures: BatchFailure<BatchOp<Tag>>[] = [];
    let done = false;
    for (;;) {
      let len: number;
      try {
        len = sock.receive(done);
      } catch (e) {
        if (e instanceof NetlinkSocketError && e.errno === ENOBUFS) throw new NftCommitUnknownError();
        throw e;
      }
      if (len < 0) break;
      const buf = sock.receiveBuffer;
      for (let p = 0; p + 16 <= len; ) {
        const mlen = buf.readUInt32LE(p);
        if (mlen < 16 || p + mlen > len) break;
        const type = buf.readUInt16LE(p + 4);
        const flags = buf.readUInt16LE(p + 6);
        const seq = buf.readUInt32LE(p + 8);
        if (seq >= first && seq <= last + 1) {
          const index = seq === first || seq === last + 1 ? -1 : seq - first - 1;
          if (type === NLMSG_ERROR) {
            const err = parseError(buf, p, mlen, flags, seq);
            if (err) failures.push({ index, op: index >= 0 ? this.ops[index] : undefined, errno: err.code, extAck: err.extAck });
            if (seq === last || index < 0) done = true;
          } else if (type === nftType(NFT_MSG.NEWRULE) && index >= 0) {
            const rule = parseRule({ buf: Buffer.from(buf.subarray(p, p + mlen)), off: 0, len: mlen, type, flags, seq });
            result.rules.set(index, rule);
            result.handles.set(index, rule.handle);
          } else if (type === nftType(NFT_MSG.NEWGEN)) {
            result.genid = readGenId(buf, p, mlen);
          }
        }
        p += (mlen + 3) & ~3;
      }
    }
    return failures;
  }
}

function readGenId(buf: Buffer, at: number, len: number): number | null {
  for (let p = at + 20; p + 8 <= at + len; ) {
    const alen = buf.readUInt16LE(p);
    if (alen < 4) break;
    if ((buf.readUInt16LE(p + 2) & 0x3fff) === 1 && alen >= 8) return buf.readUInt32BE(p + 4);
    p += (alen + 3) & ~3;
  }
  return null;
}

function describeOne(f: BatchFailure<BatchOp>): string {
  const e = `${errnoName(f.errno)} (errno ${f.errno})`;
  const where = f.extAck.offset !== undefined ? `, attribute at offset ${f.extAck.offset}` : '';
  const why = f.extAck.message ? ` (${f.extAck.message})` : '';
  if (!f.op) return `the batch: ${e}${why}`;
  const what = f.op.chain !== undefined ? `${f.op.kind} in chain ${f.op.chain} of table ${f.op.table}` : `${f.op.kind} of table ${f.op.table}`;
  return `operation ${f.index} (${what}${f.op.handle !== undefined ? `, handle ${f.op.handle}` : ''}): ${e}${where}${why}`;
}

function describe(failures: BatchFailure<BatchOp>[]): string {
  return `nf_tables refused the batch, nothing was applied: ${failures.map(describeOne).join('; ')}`;
}

export type { ExtAck };
