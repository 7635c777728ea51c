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
import type { Family } from '../xtables/shim.js';
import type { ScannedChain, ScannedRule } from '../xtables/table-scan.js';
import { escapeLabel, labelText } from './exposition.js';

/** Hex digits of a rule's hash in its `id`. */
const HASH_LENGTH = 12;
/** Bytes of ScannedChain.ruleDigest. */
const DIGEST_LENGTH = 20;
const COMMENT_AT = Buffer.byteLength('comment="');
/** Rules decoded between two calls of RuleLabels' `collect`. */
const COLLECT_EVERY = 10_000;

/** The texts of many rules in one buffer: rule `i`'s from at[i] to at[i + 1]. */
export interface Texts {
  readonly bytes: Buffer;
  readonly at: Uint32Array;
}

/** Builds Texts rule by rule, in order. */
class TextsBuilder {
  #buf = Buffer.allocUnsafe(4096);
  #length = 0;
  readonly #at: Uint32Array;
  #count = 0;

  constructor(count: number) {
    this.#at = new Uint32Array(count + 1);
  }

  #room(n: number): void {
    if (this.#length + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#length + n));
    this.#buf.copy(bigger, 0, 0, this.#length);
    this.#buf = bigger;
  }

  text(s: string): void {
    this.#room(s.length * 3);
    this.#length += this.#buf.write(s, this.#length);
    this.#at[++this.#count] = this.#length;
  }

  copy(from: Texts, i: number): void {
    const start = from.at[i]!;
    const end = from.at[i + 1]!;
    this.#room(end - start);
    this.#length += from.bytes.copy(this.#buf, this.#length, start, end);
    this.#at[++this.#count] = this.#length;
  }

  done(): Texts {
    return { bytes: Buffer.from(this.#buf.subarray(0, this.#length)), at: this.#at };
  }
}

/** The labels of one version of a chain's rules. */
export class ChainLabels {
  /** Bytes held: what a reading that uses these labels keeps alive. */
  readonly size: number;

  constructor(
    /** ScannedChain.digest of the rules these label. */
    readonly digest: string,
    /** The labels every rule of the chain has (family, table and chain), and a comma. */
    readonly base: Buffer,
    /** ScannedChain.ruleDigest of each rule, back to back: to find the unchanged ones when the chain changes. */
    readonly digests: Buffer,
    /** The hash of each rule's spec, HASH_LENGTH hex digits each, back to back. */
    readonly hashes: Buffer,
    /** Per rule, the labels that name it: `comment="...",target="..."`. */
    readonly names: Texts,
    /** Per rule, where the comment's value ends in `names`. */
    readonly commentEnds: Uint32Array,
    /** Per rule, `,id="..."` where the comment does not name it alone, else nothing. */
    readonly ids: Texts,
    /** Per rule, its spec, escaped for a label value. */
    readonly specs: Texts,
  ) {
    this.size = base.length + digests.length + hashes.length + names.bytes.length + ids.bytes.length + specs.bytes.length + 16 * names.at.length;
  }

  get count(): number {
    return this.names.at.length - 1;
  }
}

export const familyLabel = (f: Family): string => (f === 6 ? 'ipv6' : 'ipv4');

/** Labels of every chain seen in the last reading, by family, table and chain. */
export class RuleLabels {
  #chains = new Map<string, ChainLabels>();
  #seen = new Map<string, ChainLabels>();
  /** Rules decoded since the last readingDone(). */
  #decoded = 0;

  /** `collect`, if given, is called after every COLLECT_EVERY rules decoded (see Collector). */
  constructor(private readonly collect?: () => void) {}

  #decoding = (): void => {
    if (++this.#decoded % COLLECT_EVERY === 0) this.collect?.();
  };

  /** The labels of `chain`'s rules as they are now: the kept ones if its rules did not change. */
  of(family: Family, table: string, chain: ScannedChain): ChainLabels {
    const key = `${family}\0${table}\0${chain.name}`;
    const kept = this.#chains.get(key);
    const labels = kept?.digest === chain.digest ? kept : build(family, table, chain, kept, this.#decoding);
    this.#seen.set(key, labels);
    return labels;
  }

  /** Keeps the labels of a family whose rules could not be read this time, for when they can again. */
  keep(family: Family): void {
    for (const [key, labels] of this.#chains) if (key.startsWith(`${family}\0`) && !this.#seen.has(key)) this.#seen.set(key, labels);
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

function build(family: Family, table: string, chain: ScannedChain, kept: ChainLabels | undefined, decoding: () => void): ChainLabels {
  const count = chain.count;
  const known = new Map<string, number>();
  if (kept) for (let i = 0; i < kept.count; i++) known.set(kept.digests.toString('latin1', i * DIGEST_LENGTH, (i + 1) * DIGEST_LENGTH), i);
  const digests = Buffer.alloc(count * DIGEST_LENGTH);
  const hashes = Buffer.alloc(count * HASH_LENGTH);
  const names = new TextsBuilder(count);
  const specs = new TextsBuilder(count);
  const commentEnds = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const digest = chain.ruleDigest(i);
    digests.write(digest, i * DIGEST_LENGTH, 'latin1');
    const j = known.get(digest);
    if (j !== undefined) {
      const from = kept!;
      from.hashes.copy(hashes, i * HASH_LENGTH, j * HASH_LENGTH, (j + 1) * HASH_LENGTH);
      names.copy(from.names, j);
      specs.copy(from.specs, j);
      commentEnds[i] = from.commentEnds[j]! - from.names.at[j]!;
      continue;
    }
    decoding();
    const rule = decode(family, chain.rule(i));
    hashes.write(rule.hash, i * HASH_LENGTH, 'latin1');
    names.text(`comment="${rule.comment}",target="${escapeLabel(rule.target)}"`);
    specs.text(escapeLabel(rule.spec));
    commentEnds[i] = COMMENT_AT + Buffer.byteLength(rule.comment);
  }
  const nameTexts = names.done();
  for (let i = 0; i < count; i++) commentEnds[i]! += nameTexts.at[i]!;

  // Comments that name one rule alone, and ids for the rest.
  const comment = (i: number) => nameTexts.bytes.toString('latin1', nameTexts.at[i]! + COMMENT_AT, commentEnds[i]);
  const byComment = new Map<string, number>();
  for (let i = 0; i < count; i++) byComment.set(comment(i), (byComment.get(comment(i)) ?? 0) + 1);
  const ids = new TextsBuilder(count);
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const c = comment(i);
    if (c !== '' && byComment.get(c) === 1) {
      ids.text('');
      continue;
    }
    // Rules that are the same rule (or whose hashes collide) are told apart by their order.
    const hash = hashes.toString('latin1', i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
    const n = (seen.get(hash) ?? 0) + 1;
    seen.set(hash, n);
    ids.text(`,id="${n === 1 ? hash : `${hash}-${n}`}"`);
  }
  const base = Buffer.from(`${labelText({ family: familyLabel(family), table, chain: chain.name })},`);
  return new ChainLabels(chain.digest, base, digests, hashes, nameTexts, commentEnds, ids.done(), specs.done());
}

/** What names a rule, decoded from its entry. */
function decode(family: Family, raw: ScannedRule): { comment: string; target: string; spec: string; hash: string } {
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
