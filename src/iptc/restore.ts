// iptables-restore's input grammar, applied to table views: `*table`, `:CHAIN POLICY [p:b]`,
// `[p:b] -A ...` and the other commands, `COMMIT`.
import type { TableView } from './table-backend.js';
import { IPTCError } from '../xtables/errors.js';
import { checkChainName } from './names.js';
import { shellSplit } from './parameters.js';
import { Policy } from './policy.js';
import { RuleSyntaxError, type AddressLists } from './parse.js';
import type { Rule } from './rule.js';
import { isPlainSpec, RuleTemplates } from './template.js';
import { PackedEntries } from './packed.js';
import { checkJumpLabel, jumpLabel } from './chain.js';
import { entryLayout } from '../xtables/entry.js';
import type { SeenRules } from './positions.js';

/** A restore input line that failed; `cause` is the typed error behind it. */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
  /** 1-based line number in the restore text. */
  readonly line: number;
  /** The errno of the cause, when libiptc or the kernel refused the line (0 otherwise). */
  readonly errno: number;

  constructor(line: number, text: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`line ${line}: ${reason} (in \`${text.trim()}')`, { cause });
    this.line = line;
    this.errno = cause instanceof IPTCError ? cause.errno : 0;
  }
}

export interface RestoreOptions {
  /** Keep the table's rules and chains and apply the text on top (`iptables-restore --noflush`). */
  noflush?: boolean;
  /** Install the `[packets:bytes]` counters of policies and rules (`iptables-restore --counters`). */
  counters?: boolean;
}

/** Parses a rule spec of the table's family; with `lists`, address lists are taken (see AddressLists). */
export type ParseRule = (words: string[], lists?: AddressLists) => Rule;

/** One `*table` ... `COMMIT` block of a restore text. */
export interface TableBlock {
  table: string;
  /** [line number, text] of each line between `*table` and `COMMIT`. */
  lines: [number, string][];
}

/** Splits a restore text into its table blocks, checking the framing (`*table` ... `COMMIT`). */
export function splitTables(text: string): TableBlock[] {
  if (typeof text !== 'string') throw new TypeError('restore text must be a string');
  const blocks: TableBlock[] = [];
  let current: TableBlock | null = null;
  let currentLine = 0;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!;
    const n = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (current) throw new RestoreError(currentLine, `*${current.table}`, new RuleSyntaxError('no COMMIT for this table'));
      const table = line.slice(1).trim();
      if (!/^[a-z0-9_]+$/i.test(table)) throw new RestoreError(n, raw, new RuleSyntaxError('invalid table name'));
      current = { table, lines: [] };
      currentLine = n;
      blocks.push(current);
    } else if (!current) {
      throw new RestoreError(n, raw, new RuleSyntaxError('no table: expected a `*table` line first'));
    } else if (line === 'COMMIT') {
      current = null;
    } else {
      current.lines.push([n, raw]);
    }
  }
  if (current) throw new RestoreError(currentLine, `*${current.table}`, new RuleSyntaxError('no COMMIT for this table'));
  return blocks;
}

function parseCounters(text: string): { packets: bigint; bytes: bigint } {
  const m = /^\[(\d+):(\d+)\]$/.exec(text);
  if (!m) throw new RuleSyntaxError(`invalid counters \`${text}'`);
  return { packets: BigInt.asUintN(64, BigInt(m[1]!)), bytes: BigInt.asUintN(64, BigInt(m[2]!)) };
}

function position(text: string | undefined, command: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1) {
    throw new RuleSyntaxError(`${command} needs a rule number of 1 or more, got \`${text ?? ''}'`);
  }
  return Number(text) - 1;
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

  locate(handle: TableView, chain: string, at: number): number {
    return this.seen.locate(handle, chain, at, this.#slot++);
  }

  insertion(handle: TableView, chain: string, at: number): number {
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
  handle: TableView,
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
  }
  const templates = new RuleTemplates(handle.family, parseRule);
  const run = new AppendRun(handle);
  const fast = new FastAppends(handle, templates, run);
  for (const item of block.lines) {
    const [n, raw] = item;
    try {
      const line = raw.trim();
      if (fast.append(line, item)) continue;
      run.flush();
      fast.otherCommand();
      applyLine(handle, line, options, templates, parseRule, positions);
    } catch (e) {
      if (e instanceof RestoreError) throw e;
      // A line before this one that libiptc refuses is the error iptables-restore would report.
      run.flush();
      throw new RestoreError(n, raw, e);
    }
  }
  run.flush();
}

/** The common line, `-A CHAIN spec` with single spaces and no quotes, straight from its template into the append run. */
class FastAppends {
  readonly #handle: TableView;
  readonly #templates: RuleTemplates;
  readonly #run: AppendRun;
  #chainPrefix = '';
  #chain = '';
  /** User chains jumped to since the last other command: only such a command can delete one. */
  readonly #jumpsChecked = new Set<string>();

  constructor(handle: TableView, templates: RuleTemplates, run: AppendRun) {
    this.#handle = handle;
    this.#templates = templates;
    this.#run = run;
  }

  /** Adds the line to the run if it is such a line with a template; false if it must be parsed in full. */
  append(line: string, item: [number, string]): boolean {
    if (!line.startsWith('-A ') || !isPlainSpec(line)) return false;
    if (this.#chain === '' || !line.startsWith(this.#chainPrefix)) {
      const end = line.indexOf(' ', 3);
      this.#chain = end < 0 ? '' : line.slice(3, end);
      this.#chainPrefix = `-A ${this.#chain} `;
    }
    const compiled = this.#chain === '' ? null : this.#templates.compileText(line, this.#chainPrefix.length);
    if (!compiled) return false;
    if (compiled.jump !== null && !this.#jumpsChecked.has(compiled.jump)) {
      checkJumpLabel(this.#handle, compiled.jump);
      this.#jumpsChecked.add(compiled.jump);
    }
    this.#run.add(this.#chain, compiled.entry, item);
    return true;
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
  readonly #handle: TableView;
  readonly #entries: PackedEntries;
  #chain = '';
  /** The restore lines of the entries, to name the one libiptc refuses. */
  readonly #lines: [number, string][] = [];

  constructor(handle: TableView) {
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

function applyLine(
  handle: TableView,
  line: string,
  options: RestoreOptions,
  templates: RuleTemplates,
  parseRule: ParseRule,
  positions: LinePositions,
): void {
  if (line.startsWith(':')) {
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
    return;
  }
  let words: string[];
  if (!/["'\\]/.test(line)) {
    words = line.split(/[ \t]+/);
  } else {
    try {
      words = shellSplit(line);
    } catch (e) {
      throw new RuleSyntaxError((e as Error).message);
    }
  }
  let counters: { packets: bigint; bytes: bigint } | undefined;
  if (words[0]?.startsWith('[')) {
    const parsed = parseCounters(words.shift()!);
    if (options.counters) counters = parsed;
  }
  const command = COMMANDS[words[0] ?? ''];
  if (!command) throw new RuleSyntaxError(`unknown command \`${words[0] ?? ''}'`);
  const chain = words[1];
  const rest = words.slice(2);
  /** The entries of a rule spec: one, or one per address of `-s a,b` / `-d a,b` (as iptables makes them). */
  const entriesOf = (spec: string[]): { entry: Buffer; mask: Buffer }[] => {
    const compiled = templates.compile(spec);
    if (compiled) {
      checkJumpLabel(handle, compiled.jump);
      if (counters) {
        const at = entryLayout(handle.family).counters;
        compiled.entry.writeBigUInt64LE(counters.packets, at);
        compiled.entry.writeBigUInt64LE(counters.bytes, at + 8);
      }
      return [compiled];
    }
    const lists: AddressLists = { src: [], dst: [] };
    const r = parseRule(spec, lists);
    if (counters) r.setCounters(counters.packets, counters.bytes);
    checkJumpLabel(handle, jumpLabel(r));
    if (lists.src.length <= 1 && lists.dst.length <= 1) return [r.toEntryWithMask()];
    const entries: { entry: Buffer; mask: Buffer }[] = [];
    for (const src of lists.src.length > 0 ? lists.src : [r.src]) {
      for (const dst of lists.dst.length > 0 ? lists.dst : [r.dst]) {
        r.src = src;
        r.dst = dst;
        entries.push(r.toEntryWithMask());
      }
    }
    return entries;
  };
  const needChain = () => {
    if (chain === undefined) throw new RuleSyntaxError(`${words[0]} needs a chain name`);
    return chain;
  };
  switch (command) {
    case 'A':
      for (const { entry } of entriesOf(rest)) handle.appendEntry(needChain(), entry);
      return;
    case 'I': {
      const at = rest[0] !== undefined && /^\d+$/.test(rest[0]) ? position(rest.shift(), '-I') : 0;
      const entries = entriesOf(rest);
      const where = positions.insertion(handle, needChain(), at);
      // Each at the same position, as iptables inserts them: the last address ends up first.
      for (const { entry } of entries) handle.insertEntry(needChain(), entry, where);
      return;
    }
    case 'R': {
      const at = position(rest.shift(), '-R');
      const entries = entriesOf(rest);
      if (entries.length !== 1) throw new RuleSyntaxError('Replacement rule does not specify a unique address');
      handle.replaceEntry(needChain(), entries[0]!.entry, positions.locate(handle, needChain(), at));
      return;
    }
    case 'D':
      if (rest.length === 1 && /^\d+$/.test(rest[0]!)) {
        handle.deleteNumEntry(needChain(), positions.locate(handle, needChain(), position(rest[0], '-D')));
      } else {
        for (const { entry, mask } of entriesOf(rest)) handle.deleteEntry(needChain(), entry, mask);
      }
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
