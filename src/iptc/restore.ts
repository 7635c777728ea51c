// iptables-restore's input grammar, applied to table views: `*table`, `:CHAIN POLICY [p:b]`,
// `[p:b] -A ...` and the other commands, `COMMIT`.
import type { TableEdits } from './table-backend.js';
import { CommitError, IPTCError } from '../xtables/errors.js';
import { checkChainName } from './names.js';
import { splitRuleWords } from './words.js';
import { ruleNumberAsIptables } from './command-line.js';
import { checkGuards, checkPolicyPlacement } from './guards.js';
import { Policy } from './policy.js';
import { RuleSyntaxError } from './parse.js';
import { isPlainSpec } from './template.js';
import { PackedEntries } from './packed.js';
import { checkJumpLabel } from './chain.js';
import { RuleEntries, type Counters, type ParseRule, type SpecEntry } from './restore-rules.js';

export type { ParseRule };
import type { SeenRules } from './positions.js';

/** A restore input line that failed; `cause` is the typed error behind it. */
export class RestoreError extends Error {
  /** Always `'RestoreError'`. */
  override readonly name = 'RestoreError';
  /** 1-based line number in the restore text. */
  readonly line: number;
  /** The errno of the cause, when libiptc or the kernel refused the line (0 otherwise). */
  readonly errno: number;

  /** Line `line` (`text`) of a restore input failed with `cause`. */
  constructor(line: number, text: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`line ${line}: ${reason} (in \`${text.trim()}')`, { cause });
    this.line = line;
    this.errno = cause instanceof IPTCError ? cause.errno : 0;
  }
}

/** How Table.restore() and restoreAll() apply the text, as iptables-restore's options. */
export interface RestoreOptions {
  /** Keep the table's rules and chains and apply the text on top (`iptables-restore --noflush`). */
  noflush?: boolean;
  /** Install the `[packets:bytes]` counters of policies and rules (`iptables-restore --counters`). */
  counters?: boolean;
}

/** One `*table` ... `COMMIT` block of a restore text. */
export interface TableBlock {
  table: string;
  /** [line number, text] of each line between `*table` and `COMMIT`. */
  lines: [number, string][];
  /** Line numbers of the `*table` and `COMMIT` lines (0 for a block framed by restore() itself). */
  start: number;
  commit: number;
}

/**
 * Splits a restore text into its table blocks, checking the framing (`*table` ... `COMMIT`). Outside a
 * block only empty lines and `#` comments may stand, as iptables-restore accepts: anything else (the
 * output of `iptables -S`, text after the last COMMIT) is refused with its line, never skipped. With
 * `table`, a text without any `*table` line is the lines of that table alone.
 */
export function splitTables(text: string, table?: string): TableBlock[] {
  if (typeof text !== 'string') throw new TypeError('restore text must be a string');
  const lines = text.split('\n');
  if (table !== undefined && !lines.some((l) => l.trim().startsWith('*'))) {
    const body = lines
      .map((raw, i): [number, string] => [i + 1, raw])
      .filter(([, raw]) => raw.trim() !== '' && !raw.trim().startsWith('#'));
    return [{ table, lines: body, start: 0, commit: 0 }];
  }
  const blocks: TableBlock[] = [];
  let current: TableBlock | null = null;
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!;
    const n = index + 1;
    const line = raw.trim();
    if (current && (line === '' || line.startsWith('#'))) continue;
    // iptables-restore skips these outside a table only when they start the line.
    if (!current && (raw === '' || raw.startsWith('#'))) continue;
    if (line.startsWith('*')) {
      if (current) throw new RestoreError(current.start, `*${current.table}`, new RuleSyntaxError('no COMMIT for this table'));
      const name = line.slice(1).trim();
      if (!/^[a-z0-9_]+$/i.test(name)) throw new RestoreError(n, raw, new RuleSyntaxError('invalid table name'));
      current = { table: name, lines: [], start: n, commit: 0 };
      blocks.push(current);
    } else if (!current) {
      const after = blocks.length > 0 ? 'after COMMIT' : "before the first `*table' line";
      throw new RestoreError(n, raw, new RuleSyntaxError(`not in a table: only \`*table' ... \`COMMIT' blocks, empty lines and # comments may stand here (${after})`));
    } else if (line === 'COMMIT') {
      current.commit = n;
      current = null;
    } else {
      current.lines.push([n, raw]);
    }
  }
  if (current) throw new RestoreError(current.start, `*${current.table}`, new RuleSyntaxError('no COMMIT for this table'));
  return blocks;
}

/**
 * A refusal of a block's commit as iptables-restore reports it, at the line of its COMMIT (the kernel
 * does not say which rule it refused); any other error as it is.
 */
export function refusedAt(block: TableBlock, e: unknown): unknown {
  return e instanceof CommitError && block.commit > 0 ? new RestoreError(block.commit, 'COMMIT', e) : e;
}

const COUNTER_LIMIT = 1n << 64n;

function parseCounters(text: string): Counters {
  const m = /^\[(\d+):(\d+)\]$/.exec(text);
  if (!m) throw new RuleSyntaxError(`invalid counters \`${text}'`);
  const packets = BigInt(m[1]!);
  const bytes = BigInt(m[2]!);
  // iptables-restore would clamp a larger number to 2^64 - 1: refused rather than changed.
  if (packets >= COUNTER_LIMIT || bytes >= COUNTER_LIMIT) throw new RangeError(`counters \`${text}' do not fit in 64 bits`);
  return { packets, bytes };
}

/** Whether the word after `-I`/`-R`/`-D CHAIN` is a rule number to iptables (xs_has_arg). */
function isRuleNumber(word: string | undefined): word is string {
  return word !== undefined && !word.startsWith('-') && !word.startsWith('!');
}

const COMMANDS: Record<string, string> = {
  '-A': 'A', '--append': 'A', '-I': 'I', '--insert': 'I', '-D': 'D', '--delete': 'D', '-R': 'R',
  '--replace': 'R', '-N': 'N', '--new-chain': 'N', '-X': 'X', '--delete-chain': 'X', '-F': 'F',
  '--flush': 'F', '-Z': 'Z', '--zero': 'Z', '-P': 'P', '--policy': 'P', '-E': 'E', '--rename-chain': 'E',
};

/**
 * Where the block's `-I/-R/-D CHAIN n` lines act: as the view they were first applied to saw it (see
 * SeenRules), one slot per such line in order.
 */
class LinePositions {
  #slot = 0;

  constructor(readonly seen: SeenRules) {}

  locate(handle: TableEdits, chain: string, at: number): number {
    return this.seen.locate(handle, chain, at, this.#slot++);
  }

  insertion(handle: TableEdits, chain: string, at: number): number {
    return this.seen.insertion(handle, chain, at, this.#slot++);
  }
}

/**
 * Applies one table block to a handle as iptables-restore does; nothing reaches the kernel until the
 * caller commits the handle. `parseRule` turns a rule spec into a Rule of the table's family. Applied
 * again to another view (a batch at commit), lines by position act on the rules that `seen` noted the
 * first time.
 */
export function applyBlock(
  handle: TableEdits,
  block: TableBlock,
  options: RestoreOptions,
  parseRule: ParseRule,
  seen: SeenRules,
): void {
  const positions = new LinePositions(seen);
  if (!options.noflush) {
    const names = handle.chainNames();
    for (const name of names) handle.flushEntries(name);
    for (const name of names) if (!handle.isBuiltin(name)) handle.deleteChain(name);
    handle.replaceTable?.();
  }
  const rules = new RuleEntries(handle.family, parseRule, handle.entryForm);
  const run = new AppendRun(handle);
  const fast = new FastAppends(handle, rules, run);
  for (const item of block.lines) {
    const [n, raw] = item;
    try {
      const line = raw.trim();
      if (fast.append(line, item)) continue;
      if (line.startsWith(':')) {
        run.flush();
        fast.otherCommand();
        applyChainLine(handle, line, options);
        continue;
      }
      const words = line.indexOf('"') < 0 ? line.split(/[ \t]+/) : splitRuleWords(line).words;
      let counters: Counters | undefined;
      if (words[0]?.startsWith('[')) {
        const parsed = parseCounters(words.shift()!);
        if (options.counters) counters = parsed;
      }
      const command = COMMANDS[words[0] ?? ''];
      if (command === 'A' && words[1] !== undefined) {
        // Appends join the run: one call into libiptc for many rules.
        fast.add(words[1], rules.of(words.slice(2), counters, false), item);
        continue;
      }
      run.flush();
      fast.otherCommand();
      applyCommand(handle, words, command, counters, rules, positions);
    } catch (e) {
      if (e instanceof RestoreError) throw e;
      // A line before this one that libiptc refuses is the error iptables-restore would report.
      run.flush();
      throw new RestoreError(n, raw, e);
    }
  }
  run.flush();
}

/** The entries, after the refusals iptables makes before libiptc sees them (see guards.ts, checkJumpLabel). */
function checked(handle: TableEdits, chain: string, entries: SpecEntry[]): SpecEntry[] {
  for (const e of entries) {
    checkGuards(handle.table, chain, e.guard);
    checkJumpLabel(handle, e.jump);
  }
  return entries;
}

/** The common line, `-A CHAIN spec` with single spaces and no quotes, straight from its template into the append run. */
class FastAppends {
  readonly #handle: TableEdits;
  readonly #rules: RuleEntries;
  readonly #run: AppendRun;
  #chainPrefix = '';
  #chain = '';
  /** User chains jumped to since the last other command: only such a command can delete one. */
  readonly #jumpsChecked = new Set<string>();

  constructor(handle: TableEdits, rules: RuleEntries, run: AppendRun) {
    this.#handle = handle;
    this.#rules = rules;
    this.#run = run;
  }

  /** Adds the line to the run if it is such a line; false if it must be read in full. */
  append(line: string, item: [number, string]): boolean {
    if (!line.startsWith('-A ') || !isPlainSpec(line)) return false;
    if (this.#chain === '' || !line.startsWith(this.#chainPrefix)) {
      const end = line.indexOf(' ', 3);
      this.#chain = end < 0 ? '' : line.slice(3, end);
      this.#chainPrefix = `-A ${this.#chain} `;
    }
    if (this.#chain === '') return false;
    const compiled = this.#rules.templates.compileText(line, this.#chainPrefix.length);
    if (!compiled) {
      // No template (yet): the spec's words are the line's after the chain, as a full read splits them.
      this.add(this.#chain, this.#rules.of(line.slice(this.#chainPrefix.length).split(' '), undefined, false, false), item);
      return true;
    }
    this.#check(this.#chain, compiled);
    this.#run.add(this.#chain, compiled.entry, item);
    return true;
  }

  /** Adds the entries of another `-A` line to the run. */
  add(chain: string, entries: SpecEntry[], item: [number, string]): void {
    for (const e of entries) this.#check(chain, e);
    for (const e of entries) this.#run.add(chain, e.entry, item);
  }

  /** The refusals iptables makes before libiptc sees a rule (see guards.ts, checkJumpLabel). */
  #check(chain: string, e: { guard: number; jump: string | null }): void {
    checkGuards(this.#handle.table, chain, e.guard);
    if (e.jump !== null && !this.#jumpsChecked.has(e.jump)) {
      checkJumpLabel(this.#handle, e.jump);
      this.#jumpsChecked.add(e.jump);
    }
  }

  /** Another command comes: it may delete a chain jumped to. */
  otherCommand(): void {
    this.#jumpsChecked.clear();
  }
}

/**
 * `-A` lines of one chain in a row, packed and appended in one call: a large restore would otherwise
 * cross into libiptc once per rule.
 */
class AppendRun {
  readonly #handle: TableEdits;
  readonly #entries: PackedEntries;
  #chain = '';
  /** The restore lines of the entries, to name the one libiptc refuses. */
  readonly #lines: [number, string][] = [];

  constructor(handle: TableEdits) {
    this.#handle = handle;
    this.#entries = new PackedEntries(handle.family);
  }

  add(chain: string, entry: Buffer, line: [number, string]): void {
    if (chain !== this.#chain) {
      this.flush();
      this.#chain = chain;
    }
    this.#entries.push(entry);
    this.#lines.push(line);
  }

  /** Appends the entries added so far; an entry libiptc refuses throws RestoreError naming its line. */
  flush(): void {
    if (this.#entries.count === 0) return;
    const lines = this.#lines.splice(0);
    try {
      this.#entries.appendTo(this.#handle, this.#chain, (index, e) => new RestoreError(lines[index]![0], lines[index]![1], e));
    } finally {
      this.#entries.clear();
    }
  }
}

/** `:CHAIN POLICY [packets:bytes]`. */
function applyChainLine(handle: TableEdits, line: string, options: RestoreOptions): void {
  const [chain, policy, counters] = line.slice(1).trim().split(/\s+/);
  if (!chain) throw new RuleSyntaxError('chain name invalid');
  if (!policy) throw new RuleSyntaxError('policy invalid');
  checkChainName(chain);
  if (!handle.isBuiltin(chain)) {
    if (options.noflush && handle.isChain(chain)) handle.flushEntries(chain);
    else handle.createChain(chain);
  }
  if (policy !== '-') {
    const name = new Policy(policy).name;
    const cnt = options.counters && counters ? parseCounters(counters) : { packets: 0n, bytes: 0n };
    handle.setPolicy(chain, name, cnt);
  }
}

/** A command line other than an append that joined the run. */
function applyCommand(handle: TableEdits, words: string[], command: string | undefined, counters: Counters | undefined,
  rules: RuleEntries, positions: LinePositions): void {
  if (!command) throw new RuleSyntaxError(`unknown command \`${words[0] ?? ''}'`);
  const chain = words[1];
  const rest = words.slice(2);
  const needChain = () => {
    if (chain === undefined) throw new RuleSyntaxError(`${words[0]} needs a chain name`);
    return chain;
  };
  /** The entries of a rule spec: one, or one per address of `-s a,b` / `-d a,b` (as iptables makes them). */
  const entriesOf = (spec: string[], withMask = false) => checked(handle, needChain(), rules.of(spec, counters, withMask));
  switch (command) {
    case 'A':
      for (const { entry } of entriesOf(rest)) handle.appendEntry(needChain(), entry);
      return;
    case 'I': {
      const at = isRuleNumber(rest[0]) ? ruleNumberAsIptables(rest.shift()!) : 0;
      const entries = entriesOf(rest);
      const where = positions.insertion(handle, needChain(), at);
      // Each at the same position, as iptables inserts them: the last address ends up first.
      for (const { entry } of entries) handle.insertEntry(needChain(), entry, where);
      return;
    }
    case 'R': {
      if (!isRuleNumber(rest[0])) throw new RuleSyntaxError('-R requires a rule number');
      const at = ruleNumberAsIptables(rest.shift()!);
      const entries = entriesOf(rest);
      if (entries.length !== 1) throw new RuleSyntaxError('Replacement rule does not specify a unique address');
      handle.replaceEntry(needChain(), entries[0]!.entry, positions.locate(handle, needChain(), at));
      return;
    }
    case 'D':
      if (isRuleNumber(rest[0])) {
        if (rest.length > 1) throw new RuleSyntaxError(`-D CHAIN ${rest[0]} takes no rule spec after the rule number`);
        handle.deleteNumEntry(needChain(), positions.locate(handle, needChain(), ruleNumberAsIptables(rest[0])));
      } else for (const { entry, mask } of entriesOf(rest, true)) handle.deleteEntry(needChain(), entry, mask!);
      return;
    case 'N':
      checkChainName(needChain());
      handle.createChain(needChain());
      return;
    case 'X':
      for (const name of chain === undefined ? handle.chainNames().filter((c) => !handle.isBuiltin(c)) : [chain]) {
        handle.deleteChain(name);
      }
      return;
    case 'F':
      for (const name of chain === undefined ? handle.chainNames() : [chain]) handle.flushEntries(name);
      return;
    case 'Z':
      for (const name of chain === undefined ? handle.chainNames() : [chain]) handle.zeroEntries(name);
      return;
    case 'P': {
      const policy = rest[0];
      if (policy === undefined) throw new RuleSyntaxError('-P needs a chain and a policy');
      checkPolicyPlacement(handle.table, policy);
      handle.setPolicy(needChain(), new Policy(policy).name);
      return;
    }
    case 'E': {
      const to = rest[0];
      if (to === undefined) throw new RuleSyntaxError('-E needs the old and the new chain name');
      checkChainName(to);
      handle.renameChain(needChain(), to);
      return;
    }
  }
}
