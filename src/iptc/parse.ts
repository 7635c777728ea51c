// The iptables command-line rule grammar (`-s -d -i -o -p -f -m -j -g -c`, `!` before an option,
// extension options resolved the way iptables' getopt_long resolves them).
import { extensionOptions, type Family, type OptionSpec } from '../xtables/shim.js';
import { XTablesError } from '../xtables/errors.js';
import { formatAddressSpec, protocolSaveName, type AddressSpec } from './address.js';
import { parseAddressAsIptables, protocolNumberAsIptables } from './command-line.js';
import type { Extension } from './extension.js';
import { Match } from './match.js';
import { RuleSyntaxError } from './errors.js';
import { splitPlainWords, splitRuleWords } from './words.js';
import type { Rule } from './rule.js';

export { RuleSyntaxError };

type MainOption = 's' | 'd' | 'i' | 'o' | 'p' | 'f' | 'm' | 'j' | 'g' | 'c' | '4' | '6' | 'command';

/** iptables' long options (original_opts) with the short letter they stand for. */
const MAIN_LONG: [string, 0 | 1 | 2, MainOption][] = [
  ['append', 1, 'command'], ['delete', 1, 'command'], ['check', 1, 'command'], ['insert', 1, 'command'],
  ['replace', 1, 'command'], ['list', 2, 'command'], ['list-rules', 2, 'command'], ['flush', 2, 'command'],
  ['zero', 2, 'command'], ['new-chain', 1, 'command'], ['delete-chain', 2, 'command'],
  ['rename-chain', 1, 'command'], ['policy', 1, 'command'], ['source', 1, 's'], ['destination', 1, 'd'],
  ['src', 1, 's'], ['dst', 1, 'd'], ['protocol', 1, 'p'], ['in-interface', 1, 'i'], ['jump', 1, 'j'],
  ['table', 1, 'command'], ['match', 1, 'm'], ['numeric', 0, 'command'], ['out-interface', 1, 'o'],
  ['verbose', 0, 'command'], ['wait', 2, 'command'], ['wait-interval', 2, 'command'], ['exact', 0, 'command'],
  ['fragments', 0, 'f'], ['version', 0, 'command'], ['help', 2, 'command'], ['line-numbers', 0, 'command'],
  ['modprobe', 1, 'command'], ['set-counters', 1, 'c'], ['goto', 1, 'g'], ['ipv4', 0, '4'], ['ipv6', 0, '6'],
];

const SHORT: Record<string, MainOption> = {
  s: 's', d: 'd', i: 'i', o: 'o', p: 'p', f: 'f', m: 'm', j: 'j', g: 'g', c: 'c', '4': '4', '6': '6',
};
const SHORT_COMMANDS = new Set('ACDRILSMFZNXEPVhbvwWnxt'.split(''));
const INVERTIBLE = new Set<MainOption>(['s', 'd', 'i', 'o', 'p', 'f']);
/** A bit per main option, for the options a spec has given (a number, not a Set: a parse per rule). */
const OPTION_BIT: Record<MainOption, number> = {
  s: 1, d: 2, i: 4, o: 8, p: 16, f: 32, m: 64, j: 128, g: 256, c: 512, '4': 1024, '6': 2048, command: 4096,
};

interface Candidate {
  name: string;
  hasArg: 0 | 1 | 2;
  /** A main option, or the loaded extension that owns the option. */
  owner: MainOption | Loaded<unknown>;
}

interface Loaded<X> {
  ext: X;
  name: string;
  match: boolean;
  options: OptionSpec[];
}

const MAIN_CANDIDATES: readonly Candidate[] = MAIN_LONG.map(([name, hasArg, owner]) => ({ name, hasArg, owner }));
const MAIN_BY_NAME = new Map(MAIN_CANDIDATES.map((c) => [c.name, c]));

/** Each extension's options by name (extensionOptions keeps one list per extension): looked up rule after rule. */
const optionsByName = new WeakMap<readonly OptionSpec[], Map<string, OptionSpec>>();

function optionNamed(options: readonly OptionSpec[], name: string): OptionSpec | undefined {
  let byName = optionsByName.get(options);
  if (!byName) {
    byName = new Map();
    // The first of a name, as a scan in order finds it.
    for (const o of options) if (!byName.has(o.name)) byName.set(o.name, o);
    optionsByName.set(options, byName);
  }
  return byName.get(name);
}

/**
 * What the grammar makes of a rule spec, part by part: a Rule with its Match and Target objects (the
 * RuleSink below), or a plan that the shim compiles in one call (see compile.ts). `X` is the sink's
 * handle on one of the rule's extensions.
 */
export interface RuleSink<X> {
  readonly family: Family;
  /** `-s`/`-d`: the address as iptables reads it (masked, with the `!`). */
  address(field: 'src' | 'dst', spec: AddressSpec): void;
  /** `[!] -i`/`-o`, as `rule.inInterface` / `rule.outInterface` take it. */
  iface(field: 'inInterface' | 'outInterface', value: string): void;
  /** `[!] -p`, as `rule.protocol` takes it. */
  protocol(value: string): void;
  fragment(inverted: boolean): void;
  /** `-m NAME`; throws XTablesError if there is no such match. */
  match(name: string): X;
  /** `-j`/`-g NAME`: a target extension's handle, or null for a verdict, a chain or nothing. */
  target(name: string, goto: boolean): X | null;
  /** One option of an extension: `candidates` are the words it may take; returns how many it took. */
  option(ext: X, name: string, candidates: string[], invert: boolean): number;
  counters(packets: bigint, bytes: bigint): void;
}

/** The sink that fills a Rule, each option built through the extension at once (iptables' order). */
class ObjectSink implements RuleSink<Extension> {
  readonly #rule: Rule;

  constructor(rule: Rule) {
    this.#rule = rule;
  }

  get family(): Family {
    return this.#rule.family;
  }

  address(field: 'src' | 'dst', spec: AddressSpec): void {
    this.#rule[field] = formatAddressSpec(this.#rule.family, spec);
  }

  iface(field: 'inInterface' | 'outInterface', value: string): void {
    this.#rule[field] = value;
  }

  protocol(value: string): void {
    this.#rule.protocol = value;
  }

  fragment(inverted: boolean): void {
    if (inverted) this.#rule.fragmentInverted = true;
    else this.#rule.fragment = true;
  }

  match(name: string): Extension {
    const match = new Match(this.#rule, name);
    this.#rule.addMatch(match);
    return match;
  }

  target(name: string, goto: boolean): Extension | null {
    const target = this.#rule.createTarget(name, undefined, goto ? { goto: true } : {});
    return target.standardTarget === null ? target : null;
  }

  option(ext: Extension, name: string, candidates: string[], invert: boolean): number {
    return ext.parseOption(name, candidates, invert);
  }

  counters(packets: bigint, bytes: bigint): void {
    this.#rule.setCounters(packets, bytes);
  }
}

function fail(message: string): never {
  throw new RuleSyntaxError(message);
}

/** Whether getopt would take the word as the next argument of an option that reads extra words. */
function looksLikeValue(word: string | undefined): boolean {
  return word !== undefined && !word.startsWith('-') && !word.startsWith('!');
}

/** The match iptables loads for `-p NAME` when an option needs it (`-p tcp --dport 80`). */
function protocolMatchName(family: Family, protocol: string): string {
  const number = /^\d+$/.test(protocol) ? Number(protocol) : undefined;
  let name = number === undefined ? protocol : protocolSaveName(number);
  if (family === 6 && (name === 'ipv6-icmp' || name === 'icmpv6')) name = 'icmp6';
  return name;
}

/**
 * The addresses of `-s a,b` and `-d a,b` as iptables-restore and the iptables command take them: one rule
 * per source and destination (sources outer, destinations inner). Each address is in read-back form.
 */
export interface AddressLists {
  src: string[];
  dst: string[];
}

/** iptables' rule grammar (do_parse's options loop), feeding a RuleSink. */
export class RuleParser<X> {
  readonly #sink: RuleSink<X>;
  readonly #words: readonly string[];
  readonly #lists: AddressLists | null;
  #addressInverted = false;
  #i = 0;
  #invert = false;
  /** The main options given so far, as OPTION_BIT bits. */
  #seen = 0;
  readonly #loaded: Loaded<X>[] = [];
  #protocol: string | null = null;
  #protocolMatchTried = false;

  constructor(sink: RuleSink<X>, words: readonly string[], lists: AddressLists | null) {
    this.#sink = sink;
    this.#words = words;
    this.#lists = lists;
  }

  parse(): void {
    const words = this.#words;
    while (this.#i < words.length) {
      const word = words[this.#i++]!;
      if (typeof word !== 'string') throw new TypeError('rule spec words must be strings');
      if (word === '!') {
        if (this.#invert) fail('multiple consecutive ! not allowed');
        this.#invert = true;
        continue;
      }
      if (word.startsWith('--') && word.length > 2) this.#longOption(word.slice(2));
      else if (word.startsWith('-') && word.length > 1) this.#shortOption(word);
      else fail(`Bad argument \`${word}'`);
      this.#invert = false;
    }
    if (this.#invert) fail('nothing appropriate following !');
    const lists = this.#lists;
    if (lists && (lists.src.length > 1 || lists.dst.length > 1) && this.#addressInverted) {
      fail('! not allowed with multiple source or destination IP addresses');
    }
  }

  #candidates(): Candidate[] {
    const list: Candidate[] = [...MAIN_CANDIDATES];
    for (const loaded of this.#loaded) {
      for (const o of loaded.options) list.push({ name: o.name, hasArg: o.hasArg, owner: loaded });
    }
    return list;
  }

  /** getopt_long: an exact name first (the main options, then each extension's in load order). */
  #exact(name: string): Candidate | null {
    const main = MAIN_BY_NAME.get(name);
    if (main) return main;
    for (const loaded of this.#loaded) {
      const o = optionNamed(loaded.options, name);
      if (o) return { name, hasArg: o.hasArg, owner: loaded };
    }
    return null;
  }

  /** getopt_long: an exact name first, else an unambiguous prefix. */
  #resolve(name: string): Candidate | null {
    const exact = this.#exact(name);
    if (exact) return exact;
    const list = this.#candidates();
    const prefixed = list.filter((c) => c.name.startsWith(name));
    if (prefixed.length === 0) return null;
    const first = prefixed[0]!;
    const same = (c: Candidate) =>
      c.hasArg === first.hasArg &&
      (typeof c.owner === 'string'
        ? c.owner === first.owner
        : c.owner === first.owner && c.owner.options.length > 0);
    if (!prefixed.every(same)) fail(`option '--${name}' is ambiguous`);
    return first;
  }

  #longOption(text: string): void {
    if (text.includes('=')) fail(`unknown option "--${text}"`);
    let found = this.#resolve(text);
    if (!found && this.#loadProtocolMatch()) found = this.#resolve(text);
    if (!found) fail(`unknown option "--${text}"`);
    if (typeof found.owner === 'string') this.#main(found.owner, `--${found.name}`, found.hasArg);
    else this.#extensionOption(found.owner as Loaded<X>, found.name, found.hasArg);
  }

  #shortOption(word: string): void {
    const letter = word[1]!;
    if (word.length > 2) fail(`unknown option "${word}"`);
    const option = SHORT[letter];
    if (!option) {
      if (SHORT_COMMANDS.has(letter)) fail(`option "${word}" is not part of a rule spec`);
      fail(`unknown option "${word}"`);
    }
    this.#main(option, word, option === 'f' || option === '4' || option === '6' ? 0 : 1);
  }

  #argument(flag: string): string {
    const value = this.#words[this.#i];
    if (value === undefined) fail(`option "${flag}" requires an argument`);
    this.#i++;
    return value;
  }

  #setOption(option: MainOption, letter: string): void {
    const bit = OPTION_BIT[option];
    if (this.#seen & bit) fail(`multiple -${letter} flags not allowed`);
    this.#seen |= bit;
    if (this.#invert && !INVERTIBLE.has(option)) fail(`cannot have ! before -${letter}`);
  }

  #main(option: MainOption, flag: string, hasArg: 0 | 1 | 2): void {
    const sink = this.#sink;
    const bang = this.#invert ? '!' : '';
    if (option === 'command') fail(`option "${flag}" is not part of a rule spec`);
    if (hasArg === 2) fail(`option "${flag}" is not part of a rule spec`);
    switch (option) {
      case 's':
      case 'd': {
        this.#setOption(option, option);
        const value = this.#argument(flag);
        if (value.startsWith('!')) fail(`host/network \`${value}' not found`);
        const field = option === 's' ? 'src' : 'dst';
        if (this.#invert) this.#addressInverted = true;
        // iptables stores both families masked when they come from the command line.
        const address = (one: string): AddressSpec => {
          if (one === '') fail(`host/network \`' not found`);
          const { addr, mask } = parseAddressAsIptables(sink.family, one, field);
          return { addr, mask, invert: this.#invert };
        };
        if (value.indexOf(',') < 0) {
          const spec = address(value);
          if (this.#lists) this.#lists[field] = [formatAddressSpec(sink.family, spec)];
          sink.address(field, spec);
          return;
        }
        if (!this.#lists) fail(`several addresses in one -${option} make several rules: parse them one by one`);
        const specs = value.split(',').map(address);
        this.#lists[field] = specs.map((spec) => formatAddressSpec(sink.family, spec));
        sink.address(field, specs[0]!);
        return;
      }
      case 'i':
      case 'o': {
        this.#setOption(option, option);
        sink.iface(option === 'i' ? 'inInterface' : 'outInterface', `${bang}${this.#argument(flag)}`);
        return;
      }
      case 'p': {
        this.#setOption(option, 'p');
        // iptables reads the lower-cased word as a number (base 0: `017` is 15), else as a name.
        const word = this.#argument(flag).toLowerCase();
        const number = protocolNumberAsIptables(word);
        if (number === undefined && !/^[^\s!]+$/.test(word)) fail(`unknown protocol "${word}" specified`);
        const value = number === undefined ? word : String(number);
        sink.protocol(`${bang}${value}`);
        this.#protocol = value;
        return;
      }
      case 'f':
        if (sink.family === 6) fail(`unknown option "${flag}"`);
        this.#setOption(option, 'f');
        sink.fragment(this.#invert);
        return;
      case 'm': {
        if (this.#invert) fail('unexpected ! flag before --match');
        const name = this.#argument(flag);
        const match = sink.match(name);
        if (this.#protocol !== null && protocolMatchName(sink.family, this.#protocol) === name) this.#protocolMatchTried = true;
        this.#load(match, name, true);
        return;
      }
      case 'j':
      case 'g': {
        this.#setOption('j', option);
        const name = this.#argument(flag);
        if (option === 'g' && name === '') fail("Illegal option `-g' with an empty argument");
        const target = sink.target(name, option === 'g');
        if (target !== null) this.#load(target, name, false);
        return;
      }
      case 'c':
        this.#setOption(option, 'c');
        this.#counters(this.#argument(flag));
        return;
      case '4':
        if (sink.family === 6) fail('This is an IPv6 rule; -4 is not allowed');
        return;
      case '6':
        if (sink.family === 4) fail('This is an IPv4 rule; -6 is not allowed');
        return;
    }
  }

  #load(ext: X, name: string, match: boolean): void {
    // A second instance of the same extension takes the options from now on (iptables marks the first
    // completed), so it replaces the first in the option table.
    const loaded = this.#loaded;
    let at = loaded.length - 1;
    while (at >= 0 && !(loaded[at]!.name === name && loaded[at]!.match === match)) at--;
    const entry = { ext, name, match, options: extensionOptions(match ? 'match' : 'target', this.#sink.family, name) };
    if (at >= 0) this.#loaded[at] = entry;
    else this.#loaded.push(entry);
  }

  /** iptables loads the protocol's match the first time an option is unknown (`-p tcp --dport 80`). */
  #loadProtocolMatch(): boolean {
    if (this.#protocol === null || this.#protocolMatchTried || this.#protocol === 'all') return false;
    this.#protocolMatchTried = true;
    const name = protocolMatchName(this.#sink.family, this.#protocol);
    let match: X;
    try {
      match = this.#sink.match(name);
    } catch (e) {
      if (e instanceof XTablesError) return false;
      throw e;
    }
    this.#load(match, name, true);
    return true;
  }

  #extensionOption(owner: Loaded<X>, name: string, hasArg: 0 | 1 | 2): void {
    // getopt gives a required argument whatever it looks like; parsers read further words themselves.
    const candidates: string[] = hasArg === 1 ? [this.#argument(`--${name}`)] : [];
    for (let j = this.#i; looksLikeValue(this.#words[j]); j++) candidates.push(this.#words[j]!);
    const taken = this.#sink.option(owner.ext, name, candidates, this.#invert);
    this.#i += Math.max(0, taken - (hasArg === 1 ? 1 : 0));
  }

  /** `-c PACKETS BYTES` or `-c PACKETS,BYTES`, read as iptables' sscanf("%llu") reads them. */
  #counters(first: string): void {
    let bytesText: string | undefined;
    const comma = first.indexOf(',', 1);
    if (comma >= 0) bytesText = first.slice(comma + 1);
    else if (looksLikeValue(this.#words[this.#i])) bytesText = this.#words[this.#i++];
    if (bytesText === undefined) fail('-c requires packet and byte counter');
    const number = (text: string, what: string): bigint => {
      const m = /^\s*\+?(\d+)/.exec(text);
      if (!m) fail(`-c ${what} counter not numeric`);
      const value = BigInt(m[1]!);
      // sscanf would clamp a larger number to 2^64 - 1: refused rather than changed.
      if (value >= 1n << 64n) throw new RangeError(`-c ${what} counter ${m[1]} does not fit in 64 bits`);
      return value;
    };
    const packets = number(first, 'packet');
    const bytes = number(bytesText, 'byte');
    this.#sink.counters(packets, bytes);
  }
}

/**
 * Parses an iptables rule spec (a string split as iptables-restore splits a line, or argv words) into
 * `rule`. With `lists`,
 * `-s`/`-d` take comma-separated lists, recorded there (the rule gets the first of each).
 */
export function parseRuleSpec<R extends Rule>(rule: R, spec: string | readonly string[], lists?: AddressLists): R {
  new RuleParser(new ObjectSink(rule), specWords(spec), lists ?? null).parse();
  // iptables runs every extension's final check before it touches the kernel; so does parse.
  rule.toEntry();
  return rule;
}

/** A rule spec's words: a string split as iptables-restore splits a line, or the words given. */
export function specWords(spec: string | readonly string[]): readonly string[] {
  if (typeof spec === 'string') return spec.indexOf('"') < 0 ? splitPlainWords(spec) : splitRuleWords(spec).words;
  if (Array.isArray(spec)) return spec;
  throw new TypeError('a rule spec must be a string or an array of strings');
}
