// Rule dictionaries in python-iptables' `iptc.easy` format: a Rule built from a dictionary (encode) and a
// dictionary read from a Rule (decode), with python-iptables' conventions for every kind of value.
import { Rule, Rule6, type Match, type Parameters, type ParameterValue } from '../iptc/index.js';
import type { BackendChoice } from '../iptc/table-backend.js';

/** Any value a rule dictionary may hold (what JSON gives, plus bigint counters). */
export type EasyValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | undefined
  | readonly EasyValue[]
  | { readonly [key: string]: EasyValue };

/**
 * A rule as python-iptables' `iptc.easy` writes it: `src`, `dst`, `protocol`, `in-interface`,
 * `out-interface`, `fragment`, `target`, `counters`, and one key per match, e.g.
 * `{ protocol: 'tcp', tcp: { dport: '22' }, comment: { comment: 'ssh' }, target: 'ACCEPT' }`.
 */
export type RuleDict = { [key: string]: EasyValue };

/** The parameters of a match or target as decoded: one argument as a string, several as a list. */
export type DecodedParams = Record<string, string | string[]>;

/** Counters as dictionaries hold them: numbers when they are safe integers, bigints otherwise. */
export type DictCounters = [number | bigint, number | bigint];

/** What every `iptc/easy` function takes last, as python's `ipv6=` keyword. */
export interface EasyOptions {
  /** Work on the IPv6 tables (ip6tables) instead of IPv4. */
  ipv6?: boolean;
  /**
   * The backend (as Table's `backend` option): 'legacy', 'nft' or 'auto'. Default: Table.defaultBackend
   * (`IPTC_BACKEND`, else 'auto'), read at each call.
   */
  backend?: BackendChoice;
}

/** The header fields of a rule, set before any match or target (extensions parse against them). */
const RULE_ATTRS = ['src', 'dst', 'protocol', 'in-interface', 'out-interface', 'fragment'] as const;
type RuleAttr = (typeof RULE_ATTRS)[number];

function attrOf(key: string): RuleAttr | undefined {
  return (RULE_ATTRS as readonly string[]).includes(key) ? (key as RuleAttr) : undefined;
}

export function isPlainObject(value: unknown): value is { readonly [key: string]: EasyValue } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function text(key: string, value: EasyValue): string {
  if (typeof value !== 'string') throw new TypeError(`rule field \`${key}' must be a string, got ${describe(value)}`);
  return value;
}

function textOrNull(key: string, value: EasyValue): string | null {
  return value === null ? null : text(key, value);
}

/** A key present with the value undefined: a missing value must not widen the rule by leaving it out. */
function undefinedValue(where: string, key: string): TypeError {
  return new TypeError(`${where}\`${key}' is undefined: give it a value, or leave the key out`);
}

function setAttr(rule: Rule, key: RuleAttr, value: EasyValue): void {
  switch (key) {
    case 'src':
      rule.src = text(key, value);
      return;
    case 'dst':
      rule.dst = text(key, value);
      return;
    case 'in-interface':
      rule.inInterface = textOrNull(key, value);
      return;
    case 'out-interface':
      rule.outInterface = textOrNull(key, value);
      return;
    case 'protocol':
      if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
        throw new TypeError(`rule field \`protocol' must be a name or a number, got ${describe(value)}`);
      }
      rule.protocol = value;
      return;
    case 'fragment':
      // true: `-f`; '!': `! -f` (what decodeRule gives for it); false / null: no fragment condition.
      if (value === false || value === null) return;
      if (rule.family === 6) throw new TypeError('IPv6 rules have no `fragment` field; use the `frag` match');
      if (value === true) rule.fragment = true;
      else if (value === '!') rule.fragmentInverted = true;
      else throw new TypeError(`rule field \`fragment' takes true, false or '!', got ${describe(value)}`);
      return;
  }
}

/** A parameter value of a dictionary as the core takes it (null is a flag, as python's None). */
function paramValue(owner: string, name: string, value: EasyValue): ParameterValue {
  if (value === undefined) throw undefinedValue(`${owner}: parameter `, name);
  if (value === null) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    for (const word of value) {
      if (typeof word !== 'string' && typeof word !== 'number') {
        throw new TypeError(`${owner}: values of \`${name}' must be strings or numbers, got ${describe(word)}`);
      }
    }
    return value as readonly (string | number)[];
  }
  throw new TypeError(`${owner}: parameter \`${name}' must be a string, a number or a list, got ${describe(value)}`);
}

/** The parameters in their order, as a Map: a key such as `__proto__` stays a key (and is refused as one). */
function params(owner: string, value: { readonly [key: string]: EasyValue }): Parameters {
  const out = new Map<string, ParameterValue>();
  for (const [name, v] of Object.entries(value)) out.set(name, paramValue(owner, name, v));
  return out;
}

/** Adds the match(es) a dictionary key describes to a rule. */
export function addMatches(rule: Rule, name: string, value: EasyValue): void {
  if (value === undefined) throw undefinedValue('rule field ', name);
  if (Array.isArray(value)) {
    // A list: the match repeated, once per element (each a parameters object or a plain value).
    for (const inner of value) addMatches(rule, name, inner as EasyValue);
    return;
  }
  if (isPlainObject(value)) {
    rule.createMatch(name, params(name, value));
    return;
  }
  // A plain value: a single-parameter match whose parameter has the match's name (`comment`, `mark`).
  rule.createMatch(name, new Map([[name, paramValue(name, name, value)]]));
}

/** Sets the target a dictionary's `target` value describes. */
export function setTarget(rule: Rule, value: EasyValue): void {
  if (value === null || value === '') {
    rule.target = null;
    return;
  }
  if (typeof value === 'string') {
    rule.createTarget(value);
    return;
  }
  if (!isPlainObject(value)) {
    throw new TypeError(`\`target' must be a name, { NAME: { parameters } } or { goto: CHAIN }, got ${describe(value)}`);
  }
  const entries = Object.entries(value);
  if (entries.length !== 1) {
    throw new TypeError(`\`target' must have exactly one key (the target's name or goto), got ${entries.length}`);
  }
  const [name, p] = entries[0]!;
  if (p === undefined) throw undefinedValue('`target\': ', name);
  if (name === 'goto') {
    if (typeof p !== 'string' || p === '') throw new TypeError(`\`target': goto takes a chain name, got ${describe(p)}`);
    rule.createTarget(p, undefined, { goto: true });
    return;
  }
  if (p === null || p === '') {
    rule.createTarget(name);
    return;
  }
  if (!isPlainObject(p)) {
    throw new TypeError(`\`target': the parameters of ${name} must be an object, got ${describe(p)}`);
  }
  rule.createTarget(name, params(name, p));
}

function counterValue(value: EasyValue, what: string): bigint | number {
  if (typeof value === 'bigint' || typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  throw new TypeError(`\`counters': ${what} must be a number, got ${describe(value)}`);
}

function setCounters(rule: Rule, value: EasyValue): void {
  if (value === null) return;
  if (!Array.isArray(value) || value.length !== 2) {
    throw new TypeError(`\`counters' must be [packets, bytes], got ${describe(value)}`);
  }
  rule.setCounters(counterValue(value[0] as EasyValue, 'packets'), counterValue(value[1] as EasyValue, 'bytes'));
}

/**
 * Builds a Rule (Rule6 with `{ ipv6: true }`) from a rule dictionary. The header fields are set first,
 * then the other keys in their order: `counters`, `target`, and every other key a match.
 *
 * Unlike python-iptables, nothing is dropped silently: an unknown match or target throws XTablesError,
 * a parameter the extension refuses throws XTablesError, a bad address or interface TypeError or
 * RangeError. The extensions' final checks run too (e.g. MARK without an option).
 *
 * python-iptables: `iptc.easy.encode_iptc_rule(rule_d, ipv6=False)`
 */
export function encodeRule(ruleD: RuleDict, options: EasyOptions = {}): Rule {
  if (!isPlainObject(ruleD)) throw new TypeError(`a rule dictionary must be an object, got ${describe(ruleD)}`);
  const rule = options.ipv6 === true ? new Rule6() : new Rule();
  const entries = Object.entries(ruleD);
  for (const [key, value] of entries) {
    if (value === undefined) throw undefinedValue('rule field ', key);
  }
  for (const [key, value] of entries) {
    const attr = attrOf(key);
    if (attr) setAttr(rule, attr, value);
  }
  for (const [key, value] of entries) {
    if (attrOf(key)) continue;
    if (key === 'counters') setCounters(rule, value);
    else if (key === 'target') setTarget(rule, value);
    else if (key === 'in_interface' || key === 'out_interface') {
      throw new TypeError(`unknown rule field \`${key}': the dictionary key is \`${key.replace('_', '-')}'`);
    } else addMatches(rule, key, value);
  }
  // Run the extensions' final checks now, so that a bad dictionary fails here and not at a commit.
  rule.toEntry();
  return rule;
}

/**
 * `[]` -> `''` (a flag), `['22']` -> `'22'`, longer lists stay (`['!', '80']`, `['blacklist', 'src']`),
 * and so does a single value that begins with `!` (`['!x']`, not inverted). An inverted flag is `'!'`,
 * as is the value `!` of an option that takes a value (set() reads `'!'` so for such an option).
 */
function decodeParams(all: Record<string, string[]>): DecodedParams {
  const out: DecodedParams = {};
  for (const [name, values] of Object.entries(all)) {
    // One value that begins with `!` (`!x`) stays a list: as a string it would encode as an inverted
    // option. `['!']`, an inverted flag or the value `!`, is `'!'`, which encodes back as either.
    const single = values.length === 1 && (values[0] === '!' || !values[0]!.startsWith('!'));
    out[name] = values.length === 0 ? '' : single ? values[0]! : values;
  }
  return out;
}

function prefixLength(mask: string): number | null {
  const octets = mask.split('.').map(Number);
  let bits = 0;
  let ended = false;
  for (const octet of octets) {
    for (let b = 7; b >= 0; b--) {
      if (octet & (1 << b)) {
        if (ended) return null;
        bits++;
      } else ended = true;
    }
  }
  return bits;
}

/** IPv4 `[!]a.b.c.d/m.m.m.m` -> `[!]a.b.c.d/len`, as python-iptables' easy prints it (host: `/32`). */
function cidr(address: string): string {
  const slash = address.indexOf('/');
  const mask = address.slice(slash + 1);
  if (!mask.includes('.')) return address;
  const len = prefixLength(mask);
  // A non-contiguous mask has no prefix length; python-iptables would print a wrong one. Keep it dotted.
  return len === null ? address : `${address.slice(0, slash)}/${len}`;
}

/** Counters as numbers when they fit, bigints otherwise. */
export function counterOut(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function matchParams(m: Match): DecodedParams {
  return decodeParams(m.getAllParameters());
}

/**
 * The dictionary of a Rule, exactly as python-iptables' easy gives it: addresses in CIDR form,
 * parameters as strings (one argument), lists (several, inverted ones as `['!', '80']`) or `''` (a
 * flag), a repeated match as a list of parameter objects, the target as a name, `{ NAME: { params } }`
 * or `{ goto: CHAIN }`, and `counters` always present as `[packets, bytes]`. `! -f`, which
 * python-iptables cannot express, decodes as `fragment: '!'`.
 *
 * python-iptables: `iptc.easy.decode_iptc_rule(iptc_rule, ipv6=False)`
 */
export function decodeRule(rule: Rule, _options: EasyOptions = {}): RuleDict {
  if (!(rule instanceof Rule)) throw new TypeError('decodeRule takes a Rule or Rule6');
  const v6 = rule.family === 6;
  const d: RuleDict = {};
  const src = rule.src;
  const dst = rule.dst;
  if (v6 ? src !== '::/0' : src !== '0.0.0.0/0.0.0.0') d['src'] = v6 ? src : cidr(src);
  if (v6 ? dst !== '::/0' : dst !== '0.0.0.0/0.0.0.0') d['dst'] = v6 ? dst : cidr(dst);
  if (rule.protocol !== '') d['protocol'] = rule.protocol;
  if (rule.inInterface !== null) d['in-interface'] = rule.inInterface;
  if (rule.outInterface !== null) d['out-interface'] = rule.outInterface;
  if (!v6 && rule.fragment) d['fragment'] = true;
  if (!v6 && rule.fragmentInverted) d['fragment'] = '!';
  for (const m of rule.matches) {
    const name = m.name;
    const p = matchParams(m);
    const seen = d[name];
    if (seen === undefined) d[name] = p;
    else if (Array.isArray(seen)) (seen as DecodedParams[]).push(p);
    else d[name] = [seen as DecodedParams, p];
  }
  const target = rule.target;
  if (target && target.name) {
    const p = decodeParams(target.getAllParameters());
    if (Object.keys(p).length > 0) d['target'] = { [target.name]: p };
    else d['target'] = target.goto ? { goto: target.name } : target.name;
  }
  const c = rule.counters;
  d['counters'] = [counterOut(c.packets), counterOut(c.bytes)];
  return d;
}
