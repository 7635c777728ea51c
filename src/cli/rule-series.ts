// The labels of each rule's series, kept from one scrape to the next: a chain whose rules did not change
// keeps its labels without a rule being decoded, and in one that did, only the new rules are.
//
// A rule's series is named by what it is, not where it is: its comment, and where the comment does not
// name it alone (no comment, or one that other rules of the chain share) a hash of its spec. Inserting a
// rule leaves the series of every other rule as they were; only with `position` does every rule below
// it get a new one.
//
// The labels are kept as UTF-8 bytes, many rules' in one buffer: at 50,000 rules, a string and an
// object per rule would cost the garbage collector more than the text itself.
import { createHash } from 'node:crypto';
import { Rule, Rule6 } from '../iptc/index.js';
import { NftForeignRuleError } from '../iptc/nft-foreign-rule.js';
import type { BackendName } from '../iptc/table-backend.js';
import type { Family } from '../xtables/shim.js';
import type { ScannedChain, ScannedRule } from '../xtables/table-scan.js';
import { escapeLabel, labelText, type Texts } from './exposition.js';

/** Hex digits of a rule's hash in its `id`. */
const HASH_LENGTH = 12;
/** Bytes of ScannedChain.ruleDigest. */
const DIGEST_LENGTH = 20;
const COMMENT_AT = Buffer.byteLength('comment="');
/** Rules decoded between two calls of RuleLabels' `collect`. */
const COLLECT_EVERY = 10_000;

/** Builds Texts rule by rule, in order. */
class TextsBuilder {
  #buf: Buffer;
  #length = 0;
  readonly #at: Uint32Array;
  #count = 0;

  /** `count` texts of about `each` bytes. */
  constructor(count: number, each: number) {
    this.#at = new Uint32Array(count + 1);
    this.#buf = Buffer.allocUnsafeSlow(Math.max(256, count * each));
  }

  #room(n: number): void {
    if (this.#length + n <= this.#buf.length) return;
    // Grown by what the texts so far say the rest will need, not doubled: at 50,000 rules the spare
    // half of a doubled buffer would be megabytes.
    const perText = this.#length / Math.max(1, this.#count);
    const rest = (this.#at.length - 1 - this.#count) * perText;
    const bigger = Buffer.allocUnsafeSlow(Math.ceil(Math.max(this.#buf.length * 1.25, this.#length + n + rest * 1.1)));
    this.#buf.copy(bigger, 0, 0, this.#length);
    this.#buf = bigger;
  }

  text(s: string): void {
    this.append(s);
    this.end();
  }

  copy(from: Texts, i: number): void {
    this.bytes(from.bytes, from.at[i]!, from.at[i + 1]!);
    this.end();
  }

  /** Appends to the current text (end() finishes it). */
  bytes(src: Buffer, start: number, end: number): void {
    this.#room(end - start);
    this.#length += src.copy(this.#buf, this.#length, start, end);
  }

  /** Appends to the current text (end() finishes it). */
  append(s: string): void {
    this.#room(s.length * 3);
    this.#length += this.#buf.write(s, this.#length);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Finishes the current text; where it ends. */
  end(): number {
    this.#at[++this.#count] = this.#length;
    return this.#length;
  }

  done(): Texts {
    // A copy only when the spare room is worth one.
    const spare = this.#buf.length - this.#length;
    return { bytes: spare > this.#buf.length / 8 ? Buffer.from(this.#buf.subarray(0, this.#length)) : this.#buf.subarray(0, this.#length), at: this.#at };
  }
}

/** The labels of one version of a chain's rules. */
export class ChainLabels {
  /** Bytes held: what a reading that uses these labels keeps alive. */
  readonly size: number;

  constructor(
    /** ScannedChain.digest of the rules these label. */
    readonly digest: string,
    /** Bytes of the labels every rule of the chain starts with: `family="...",table="...",chain="...",`. */
    readonly baseLength: number,
    /** ScannedChain.ruleDigest of each rule, back to back: to find the unchanged ones when the chain changes. */
    readonly digests: Buffer,
    /** The hash of each rule's spec, HASH_LENGTH hex digits each, back to back. */
    readonly hashes: Buffer,
    /**
     * Per rule, its series' labels (what goes between the braces): the chain's, then those that name the
     * rule (`comment="...",target="..."`), then `,id="..."` where the comment does not name it alone.
     */
    readonly labels: Texts,
    /** Per rule, where its naming labels end in `labels` (its id, if any, follows). */
    readonly nameEnds: Uint32Array,
    /** Per rule, where its comment's value ends in `labels`. */
    readonly commentEnds: Uint32Array,
    /** Per rule, its spec, escaped for a label value. */
    readonly specs: Texts,
  ) {
    this.size = digests.length + hashes.length + labels.bytes.length + specs.bytes.length + 16 * labels.at.length;
  }

  get count(): number {
    return this.labels.at.length - 1;
  }
}

export const familyLabel = (f: Family): string => (f === 6 ? 'ipv6' : 'ipv4');

/** Labels of every chain seen in the last reading, by backend, family, table and chain. */
export class RuleLabels {
  #chains = new Map<string, ChainLabels>();
  #seen = new Map<string, ChainLabels>();
  /** Rules decoded since the last readingDone(). */
  #decoded = 0;

  /**
   * `collect`, if given, is called after every COLLECT_EVERY rules decoded (see Collector). Without
   * `specs`, the rules' specs are not kept (nothing will show them).
   */
  constructor(
    private readonly collect?: () => void,
    private readonly specs = true,
  ) {}

  #decoding = (): void => {
    if (++this.#decoded % COLLECT_EVERY === 0) this.collect?.();
  };

  /** The labels of `chain`'s rules as they are now: the kept ones if its rules did not change. */
  of(backend: BackendName, family: Family, table: string, chain: ScannedChain): ChainLabels {
    const key = `${backend}\0${family}\0${table}\0${chain.name}`;
    const kept = this.#chains.get(key);
    const labels = kept?.digest === chain.digest ? kept : build(backend, family, table, chain, kept, this.#decoding, this.specs);
    this.#seen.set(key, labels);
    return labels;
  }

  /** Keeps the labels of a backend's family whose rules could not be read this time, for when they can again. */
  keep(backend: BackendName, family: Family): void {
    const prefix = `${backend}\0${family}\0`;
    for (const [key, labels] of this.#chains) if (key.startsWith(prefix) && !this.#seen.has(key)) this.#seen.set(key, labels);
  }

  /** Call after each reading: the chains it did not see (nor keep) are forgotten. Returns the rules it decoded. */
  readingDone(): number {
    const decoded = this.#decoded;
    this.#chains = this.#seen;
    this.#seen = new Map();
    this.#decoded = 0;
    return decoded;
  }
}

function build(
  backend: BackendName,
  family: Family,
  table: string,
  chain: ScannedChain,
  kept: ChainLabels | undefined,
  decoding: () => void,
  keepSpecs: boolean,
): ChainLabels {
  const count = chain.count;
  const known = new Map<string, number>();
  if (kept) for (let i = 0; i < kept.count; i++) known.set(kept.digests.toString('latin1', i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH), i);
  const digests = Buffer.alloc(count * DIGEST_LENGTH);
  const hashes = Buffer.alloc(count * HASH_LENGTH);
  // What names each rule (`comment="...",target="..."`), and where its comment ends in it.
  const names = new TextsBuilder(count, 64);
  const commentEnds = new Uint32Array(count);
  const specs = new TextsBuilder(count, keepSpecs ? 128 : 0);
  for (let i = 0; i < count; i++) {
    const digest = chain.ruleDigest(i);
    digests.write(digest, i * DIGEST_LENGTH, 'latin1');
    const j = known.get(digest);
    if (j !== undefined) {
      const from = kept!;
      const start = from.labels.at[j]! + from.baseLength;
      from.hashes.copy(hashes, i * HASH_LENGTH, j * HASH_LENGTH, (j + 1) * HASH_LENGTH);
      names.bytes(from.labels.bytes, start, from.nameEnds[j]!);
      names.end();
      commentEnds[i] = from.commentEnds[j]! - start;
      specs.copy(from.specs, j);
      continue;
    }
    decoding();
    const rule = decode(family, chain, i);
    hashes.write(rule.hash, i * HASH_LENGTH, 'latin1');
    names.text(`comment="${rule.comment}",target="${escapeLabel(rule.target)}"`);
    commentEnds[i] = COMMENT_AT + Buffer.byteLength(rule.comment);
    specs.text(keepSpecs ? escapeLabel(rule.spec) : '');
  }
  const named = names.done();

  // Comments that name one rule alone; ids for the rest.
  const comment = (i: number) => named.bytes.toString('latin1', named.at[i]! + COMMENT_AT, named.at[i]! + commentEnds[i]!);
  const byComment = new Map<string, number>();
  for (let i = 0; i < count; i++) byComment.set(comment(i), (byComment.get(comment(i)) ?? 0) + 1);
  const seen = new Map<string, number>();
  const base = Buffer.from(`${labelText(chainLabels(backend, family, table, chain.name))},`);
  const labels = new TextsBuilder(count, named.bytes.length / Math.max(1, count) + base.length + 8);
  const nameEnds = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const c = comment(i);
    labels.bytes(base, 0, base.length);
    const start = labels.length;
    labels.bytes(named.bytes, named.at[i]!, named.at[i + 1]!);
    nameEnds[i] = labels.length;
    commentEnds[i]! += start;
    if (c === '' || byComment.get(c)! > 1) {
      // Rules that are the same rule (or whose hashes collide) are told apart by their order.
      const hash = hashes.toString('latin1', i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
      const n = (seen.get(hash) ?? 0) + 1;
      seen.set(hash, n);
      labels.append(`,id="${n === 1 ? hash : `${hash}-${n}`}"`);
    }
    labels.end();
  }
  return new ChainLabels(chain.digest, base.length, digests, hashes, labels.done(), nameEnds, commentEnds, specs.done());
}

/** The labels of a chain's own series, which every rule's series of the chain starts with. */
export function chainLabels(backend: BackendName, family: Family, table: string, chain: string): Record<string, string> {
  return { backend, family: familyLabel(family), table, chain };
}

/**
 * What names a rule, decoded from its entry. A rule iptables cannot express (another program's, in an
 * nf_tables chain) has no comment or target to show: its spec says what it is and names its handle.
 */
function decode(family: Family, chain: ScannedChain, i: number): { comment: string; target: string; spec: string; hash: string } {
  let raw: ScannedRule;
  try {
    raw = chain.rule(i);
  } catch (e) {
    if (!(e instanceof NftForeignRuleError)) throw e;
    const spec = `# nft rule handle ${e.handle}: ${e.rule.message}`;
    return { comment: '', target: '', spec, hash: ruleHash(spec) };
  }
  const rule = (family === 6 ? Rule6 : Rule).fromEntry(raw);
  const spec = rule.toString();
  const target = rule.target;
  const comment = rule.matches
    .filter((m) => m.name === 'comment')
    .map((m) => m.get('comment') ?? '')
    .join('; ');
  return { comment: escapeLabel(comment), target: target ? (target.standardTarget ?? target.name) : '', spec, hash: ruleHash(spec) };
}

/** The `id` of a rule: the first 12 hex digits of the SHA-256 of its spec (as iptables-save prints it after `-A CHAIN `). */
export function ruleHash(spec: string): string {
  return createHash('sha256').update(spec).digest('hex').slice(0, HASH_LENGTH);
}
