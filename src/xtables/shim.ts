// Typed calls into the C shim (native/*.c): building extension blobs from string options and
// printing them back through the extensions' own save().
import { IPTCError, LibraryError, XTablesError } from './errors.js';
import { shimLibrary } from './library.js';
import { entryLayout } from './entry.js';
import { decodeBytes, encodeText, hasSurrogate } from './text.js';
import koffi from 'koffi';

/** An address family: 4 (IPv4, iptables) or 6 (IPv6, ip6tables). */
export type Family = 4 | 6;
/** Whether an extension is a match (`-m`) or a target (`-j`). */
export type ExtensionKind = 'match' | 'target';

/** The netfilter protocol number of a family: NFPROTO_IPV4 (2), NFPROTO_IPV6 (10). */
export const NFPROTO: Record<Family, number> = { 4: 2, 6: 10 };

/** One command-line option of an extension: `[!] --name values...`. */
export interface ExtensionOption {
  /** The option's name without dashes: `dport`. */
  name: string;
  /** Its arguments: `['22']`; none for a flag. */
  values: string[];
  /** Whether a `!` precedes it. */
  invert: boolean;
}

/** A match or target blob built by the extension's parser (see buildExtension). */
export interface BuiltExtension {
  /** The xt_entry_match / xt_entry_target as the kernel stores it. */
  blob: Buffer;
  /** How many of its values each option's parser took. */
  consumed: number[];
  /** How many bytes of the data the kernel compares when deleting by specification. */
  userspacesize: number;
  /** The revision it was built with. */
  revision: number;
  /**
   * What the target's parser kept beside the blob (libxtables' udata), for the targets that have one:
   * NFLOG's whole --nflog-prefix, which iptables-nft writes instead of the blob's 63 characters.
   */
  udata?: Buffer;
}

/** A match or target as the extension's save() prints it (see saveExtension). */
export interface SavedExtension {
  /** The name iptables-save prints (`state` for conntrack revision 3). */
  name: string;
  /** The parameters as the extension's save() prints them, with a leading space. */
  text: string;
}

type BuildFn = (
  family: number,
  name: string,
  revision: number,
  fw: Buffer,
  nopts: number,
  words: (string | Buffer)[],
  counts: Int32Array,
  inverts: Uint8Array,
  final: number,
  out: Buffer,
  outlen: number,
  info: Int32Array,
  consumed: Int32Array,
) => number;
type SaveFn = (family: number, ip: Buffer, blob: Buffer, nameOut: Buffer, out: Buffer, outlen: number) => number;

export interface ShimFunctions {
  setup: () => number;
  errmsg: () => string;
  errstatus: () => number;
  owner: () => number;
  build: Record<ExtensionKind, BuildFn>;
  save: Record<ExtensionKind, SaveFn>;
  isTarget: (family: number, name: string) => number;
  loadKernelModule: (family: number) => number;
  userspacesize: (isTarget: number, family: number, name: string, revision: number) => number;
  options: (isTarget: number, family: number, name: string, revision: number, out: Buffer, outlen: number) => number;
  dumpTable: (family: number, handle: bigint, out: Buffer, outlen: number) => number;
  dumpRules: (family: number, handle: bigint, out: Buffer, outlen: number) => number;
  indexBlob: (family: number, info: Buffer, buffer: Buffer, base: number, size: number, out: Buffer, outlen: number) => number;
  appendEntries: (family: number, handle: bigint, chain: string, entries: Buffer, count: number) => number;
  appendToChains: (family: number, handle: bigint, names: Buffer, records: Buffer, count: number) => number;
  compileRule: (family: number, text: Buffer, textLen: number, plan: Int32Array, planLen: number, out: Buffer,
    outLen: number, info: Int32Array, infoLen: number) => number;
  printRules: (family: number, dump: Buffer, dumpLen: number, entries: Buffer, entriesLen: number, offsets: Int32Array,
    count: number, out: Buffer, outLen: number,
    spans: Int32Array, spansLen: number, result: Float64Array) => number;
  printLines: (family: number, dump: Buffer, dumpLen: number, entries: Buffer, entriesLen: number, at: number, count: number,
    chain: string, counters: number,
    out: Buffer, outLen: number, result: Float64Array) => number;
  dumpChain: (family: number, handle: bigint, chain: string, from: number, count: number, out: Buffer, outlen: number) => number;
  lastTargetUdata: (out: Buffer, outlen: number) => number;
  setRevisionProbe: (probe: unknown) => void;
}

let fns: ShimFunctions | undefined;

/** The C type of libxtables' revision check, as the shim lets a caller replace it. */
let revisionProbeType: ReturnType<typeof koffi.proto> | undefined;

/** The shim's functions, the shim loaded and set up on first use. */
export function shim(): ShimFunctions {
  if (fns) return fns;
  const lib = shimLibrary();
  revisionProbeType ??= koffi.proto('int xtw_revision_probe(const char *name, int revision, int opt)');
  const buildProto = (fn: string) =>
    lib.func(
      `int ${fn}(int family, const char *name, int revision, const void *fw, int nopts, const char **words, ` +
        'const int *counts, const uint8_t *inverts, int final, void *out, int outlen, int *info, int *consumed)',
    ) as BuildFn;
  const saveProto = (fn: string) =>
    lib.func(`int ${fn}(int family, const void *ip, const void *blob, void *name, void *out, int outlen)`) as SaveFn;
  const made: ShimFunctions = {
    setup: lib.func('int xtw_setup(void)') as () => number,
    errmsg: lib.func('const char *xtw_errmsg(void)') as () => string,
    errstatus: lib.func('int xtw_errstatus(void)') as () => number,
    owner: lib.func('int xtw_owner(void)') as () => number,
    build: { match: buildProto('xtw_build_match'), target: buildProto('xtw_build_target') },
    save: { match: saveProto('xtw_save_match'), target: saveProto('xtw_save_target') },
    isTarget: lib.func('int xtw_is_target(int family, const char *name)') as (f: number, n: string) => number,
    loadKernelModule: lib.func('int xtw_load_kernel_module(int family)') as (f: number) => number,
    userspacesize: lib.func('int xtw_userspacesize(int is_target, int family, const char *name, int revision)') as (
      t: number, f: number, n: string, r: number) => number,
    dumpTable: lib.func('long xtw_dump_table(int family, void *h, void *out, long outlen)') as ShimFunctions['dumpTable'],
    dumpRules: lib.func('long xtw_dump_rules(int family, void *h, void *out, long outlen)') as ShimFunctions['dumpRules'],
    indexBlob: lib.func(
      'long xtw_index_blob(int family, const void *info, void *buffer, long base, long size, void *out, long outlen)',
    ) as ShimFunctions['indexBlob'],
    appendEntries: lib.func(
      'int xtw_append_entries(int family, void *h, const char *chain, const void *entries, int count)',
    ) as ShimFunctions['appendEntries'],
    appendToChains: lib.func(
      'int xtw_append_to_chains(int family, void *h, const void *names, const void *records, int count)',
    ) as ShimFunctions['appendToChains'],
    dumpChain: lib.func(
      'long xtw_dump_chain(int family, void *h, const char *chain, unsigned int from, unsigned int count, void *out, long outlen)',
    ) as ShimFunctions['dumpChain'],
    options: lib.func(
      'int xtw_options(int is_target, int family, const char *name, int revision, void *out, int outlen)',
    ) as ShimFunctions['options'],
    compileRule: lib.func(
      'long xtw_compile_rule(int family, const void *text, int text_len, const int32_t *plan, int plan_len, ' +
        'void *out, int outlen, int32_t *info, int info_len)',
    ) as ShimFunctions['compileRule'],
    printRules: lib.func(
      'int xtw_print_rules(int family, const void *dump, long dump_len, const void *entries, long entries_len, ' +
        'const int32_t *offsets, int count, void *out, long outlen, ' +
        'int32_t *spans, int spans_len, double *result)',
    ) as ShimFunctions['printRules'],
    printLines: lib.func(
      'int xtw_print_lines(int family, const void *dump, long dump_len, const void *entries, long entries_len, ' +
        'long at, int count, const char *chain, ' +
        'int counters, void *out, long outlen, double *result)',
    ) as ShimFunctions['printLines'],
    lastTargetUdata: lib.func('int xtw_last_target_udata(void *out, int outlen)') as ShimFunctions['lastTargetUdata'],
    setRevisionProbe: lib.func('void xtw_set_revision_probe(xtw_revision_probe *probe)') as ShimFunctions['setRevisionProbe'],
  };
  if (made.setup() !== 0) {
    if (made.errstatus() === WRONG_THREAD) throw new XTablesThreadError(made.errmsg());
    throw new LibraryError(`libxtables initialisation failed: ${made.errmsg()}`);
  }
  fns = made;
  return made;
}

/** xtw_errstatus() when the shim refused a call from a thread other than its owner. */
const WRONG_THREAD = 100;
const EBUSY = 16;

/**
 * libxtables' state is process-wide and not thread-safe, so one thread owns iptc's xtables layer: the
 * first to use it (until it exits). Calls from any other worker_thread throw this IPTCError (errno
 * EBUSY) before touching that state.
 */
export class XTablesThreadError extends IPTCError {
  /** The xtables layer is owned by another thread; `message` says which and what to do. */
  constructor(message: string) {
    super(message, EBUSY);
  }
}

/** Throws XTablesThreadError unless the calling thread owns the xtables layer (claiming it if free). */
export function checkXtablesThread(): void {
  const { owner, errmsg } = shim();
  if (owner() !== 0) throw new XTablesThreadError(errmsg());
}

function checkText(what: string, value: string): void {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${typeof value}`);
  if (value.includes('\0')) throw new TypeError(`${what} must not contain NUL characters`);
}

function extensionError(name: string, message: string): XTablesError {
  if (fns?.errstatus() === WRONG_THREAD) throw new XTablesThreadError(message);
  return new XTablesError(name, message.startsWith(`${name}:`) ? message : `${name}: ${message}`);
}

const NUL = Buffer.of(0);
let outBuffer = Buffer.alloc(4096);
const udataBuffer = Buffer.alloc(256);
const info = new Int32Array(2);

/**
 * Builds a match or target blob from options, through the extension's own parser (and, with `final`,
 * its final check). `fw` is the rule's entry header, which some parsers read (e.g. the protocol).
 * Throws XTablesError with the extension's message when it refuses the options.
 */
export function buildExtension(
  kind: ExtensionKind,
  family: Family,
  name: string,
  revision: number | undefined,
  fw: Buffer,
  options: readonly ExtensionOption[],
  final: boolean,
): BuiltExtension {
  checkText(`${kind} name`, name);
  const words: (string | Buffer)[] = [];
  const counts = new Int32Array(options.length);
  const inverts = new Uint8Array(options.length);
  options.forEach((option, i) => {
    checkText('option name', option.name);
    words.push(option.name);
    for (const value of option.values) {
      checkText(`value of --${option.name}`, value);
      // koffi would write a byte read back as U+DC80 + byte (see text.ts) as U+FFFD: pass the bytes.
      words.push(hasSurrogate(value) ? Buffer.concat([encodeText(value, `value of --${option.name}`), NUL]) : value);
    }
    counts[i] = option.values.length;
    inverts[i] = option.invert ? 1 : 0;
  });
  const { build, errmsg } = shim();
  const consumed = new Int32Array(options.length);
  for (;;) {
    const size = build[kind](
      NFPROTO[family], name, revision ?? -1, fw, options.length, words, counts, inverts,
      final ? 1 : 0, outBuffer, outBuffer.length, info, consumed,
    );
    if (size < 0) throw extensionError(name, errmsg());
    if (size > outBuffer.length) {
      outBuffer = Buffer.alloc(size);
      continue;
    }
    const built: BuiltExtension = {
      blob: Buffer.from(outBuffer.subarray(0, size)),
      consumed: Array.from(consumed),
      userspacesize: info[0]!,
      revision: info[1]!,
    };
    if (kind === 'target') {
      const udataSize = shim().lastTargetUdata(udataBuffer, udataBuffer.length);
      if (udataSize > 0) built.udata = Buffer.from(udataBuffer.subarray(0, udataSize));
    }
    return built;
  }
}

/**
 * Extensions whose blob holds an index into kernel state that their parser looks up by name and their
 * save() prints by looking it up again: `set` and `SET` keep an ipset's index, which a set created later
 * may reuse. Their builds and printed texts depend on more than their options or bytes, so they are
 * never memoized.
 */
const KERNEL_STATE_EXTENSIONS: Record<ExtensionKind, readonly string[]> = { match: ['set'], target: ['SET'] };

/** Whether builds and printed texts of the extension depend on kernel state (see KERNEL_STATE_EXTENSIONS). */
export function readsKernelState(kind: ExtensionKind, name: string): boolean {
  return KERNEL_STATE_EXTENSIONS[kind].includes(name);
}

/** readsKernelState for the blob at `at` in `buffer`, by the name stored in it (NUL-terminated at 2). */
function blobReadsKernelState(kind: ExtensionKind, buffer: Buffer, at: number): boolean {
  for (const name of KERNEL_STATE_EXTENSIONS[kind]) {
    let i = 0;
    while (i < name.length && buffer[at + 2 + i] === name.charCodeAt(i)) i++;
    if (i === name.length && buffer[at + 2 + i] === 0) return true;
  }
  return false;
}

let textBuffer = Buffer.alloc(8192);
const nameBuffer = Buffer.alloc(32);

const MAX_SAVED = 50_000;
/** By kind, family and the header fields save() functions read (protocol and flags), then by blob bytes. */
const savedTexts = new Map<
  number,
  { texts: Map<string, SavedExtension>; recent: { bytes: Buffer; saved: SavedExtension }[] }
>();
/** How many of the last blobs printed under one memo key are compared in place. */
const RECENT_SAVED = 4;

/**
 * Prints a blob as iptables-save does: its printed name and its parameters text. Memoized on the blob
 * and the header fields save() functions read (rule sets repeat the same matches), except for the
 * extensions that print kernel state (readsKernelState).
 */
export function saveExtension(kind: ExtensionKind, family: Family, ipHeader: Buffer, blob: Buffer): SavedExtension {
  return saveExtensionAt(kind, family, ipHeader, blob, 0, blob.length);
}

/**
 * saveExtension for the blob at `at` in `buffer`, whose start is the entry header (an entry read from the
 * kernel): no copy or view is made unless the blob has not been printed before.
 */
export function saveExtensionAt(kind: ExtensionKind, family: Family, header: Buffer, buffer: Buffer, at: number,
  size: number): SavedExtension {
  if (blobReadsKernelState(kind, buffer, at)) {
    return saveUncached(kind, family, header, at === 0 && size === buffer.length ? buffer : buffer.subarray(at, at + size));
  }
  const l = entryLayout(family);
  const fieldsKey = (kind === 'target' ? 1 : 0) + family * 2 + header.readUInt16LE(l.proto) * 32 + header[l.flags]! * 0x200000 +
    header[l.invflags]! * 0x20000000;
  let memo = savedTexts.get(fieldsKey);
  if (!memo) {
    memo = { texts: new Map(), recent: [] };
    savedTexts.set(fieldsKey, memo);
  }
  // Rules read one after another mostly repeat the blobs of the rule before (one per match, which share
  // this memo): compare them in place, without making a key.
  for (const seen of memo.recent) {
    if (seen.bytes.length === size && seen.bytes.compare(buffer, at, at + size) === 0) return seen.saved;
  }
  const key = buffer.toString('latin1', at, at + size);
  let saved = memo.texts.get(key);
  if (!saved) {
    saved = saveUncached(kind, family, header, at === 0 && size === buffer.length ? buffer : buffer.subarray(at, at + size));
    if (memo.texts.size >= MAX_SAVED) memo.texts.clear();
    memo.texts.set(key, saved);
  }
  if (memo.recent.length >= RECENT_SAVED) memo.recent.shift();
  memo.recent.push({ bytes: Buffer.from(buffer.subarray(at, at + size)), saved });
  return saved;
}

/**
 * Forgets the blobs printed so far. A reader that prints each rule once (the exporter learns a rule's
 * labels once, then reads only its counters) gains nothing from the memo, which would hold every blob.
 */
export function forgetSavedExtensions(): void {
  savedTexts.clear();
}

function saveUncached(kind: ExtensionKind, family: Family, ipHeader: Buffer, blob: Buffer): SavedExtension {
  const { save, errmsg } = shim();
  for (;;) {
    const len = save[kind](NFPROTO[family], ipHeader, blob, nameBuffer, textBuffer, textBuffer.length);
    if (len < 0) throw extensionError(blob.toString('latin1', 2, 31).replace(/\0.*$/s, ''), errmsg());
    if (len >= textBuffer.length) {
      textBuffer = Buffer.alloc(len + 1);
      continue;
    }
    const end = nameBuffer.indexOf(0);
    // Bytes that are not UTF-8 (a comment can hold any) read back as U+DC80 + byte, never as U+FFFD.
    return { name: nameBuffer.toString('utf8', 0, end < 0 ? 32 : end), text: decodeBytes(textBuffer, 0, len) };
  }
}

/**
 * What isTargetExtension answered, by family. libxtables keeps the answer too (a loaded target stays
 * loaded, a name that failed to load is remembered as no target), so asking again changes nothing.
 */
const targetExtensions: Record<Family, Map<string, boolean>> = { 4: new Map(), 6: new Map() };

/** Whether `name` is a target extension of this family (as opposed to a chain to jump to). */
export function isTargetExtension(family: Family, name: string): boolean {
  const known = targetExtensions[family].get(name);
  if (known !== undefined) return known;
  checkText('target name', name);
  const { isTarget, errmsg } = shim();
  const found = isTarget(NFPROTO[family], name);
  if (found < 0) throw extensionError(name, errmsg());
  if (targetExtensions[family].size < 10_000) targetExtensions[family].set(name, found === 1);
  return found === 1;
}

/** Loads ip_tables / ip6_tables with modprobe, as iptables does when the kernel lacks them. */
export function loadKernelModule(family: Family): boolean {
  return shim().loadKernelModule(NFPROTO[family]) === 0;
}

const userspacesizes = new Map<string, number>();

/** How many data bytes of an extension revision a delete by specification compares. */
export function extensionUserspacesize(kind: ExtensionKind, family: Family, name: string, revision: number): number {
  const key = `${kind}/${family}/${name}/${revision}`;
  let size = userspacesizes.get(key);
  if (size === undefined) {
    const { userspacesize, errmsg } = shim();
    size = userspacesize(kind === 'target' ? 1 : 0, NFPROTO[family], name, revision);
    if (size < 0) throw extensionError(name, errmsg());
    userspacesizes.set(key, size);
  }
  return size;
}

/** One option an extension takes, as its getopt table lists it. */
export interface OptionSpec {
  /** The option's name without dashes. */
  name: string;
  /** 0 no argument, 1 required, 2 optional (getopt's has_arg). */
  hasArg: 0 | 1 | 2;
  /** The code the extension's parser is called with: aliases of one option share it. */
  code: number;
}

/** By kind and family, then by name and revision (-1: the newest). */
const optionLists: Record<ExtensionKind, Record<Family, Map<string, Map<number, OptionSpec[]>>>> = {
  match: { 4: new Map(), 6: new Map() },
  target: { 4: new Map(), 6: new Map() },
};

/** The options an extension revision takes, as getopt_long would see them. */
export function extensionOptions(kind: ExtensionKind, family: Family, name: string, revision?: number): OptionSpec[] {
  const cached = optionLists[kind][family].get(name)?.get(revision ?? -1);
  if (cached) return cached;
  checkText(`${kind} name`, name);
  const { options, errmsg } = shim();
  for (;;) {
    const len = options(kind === 'target' ? 1 : 0, NFPROTO[family], name, revision ?? -1, textBuffer, textBuffer.length);
    if (len < 0) throw extensionError(name, errmsg());
    if (len >= textBuffer.length) {
      textBuffer = Buffer.alloc(len + 1);
      continue;
    }
    const list = textBuffer
      .toString('utf8', 0, len)
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [optName, hasArg, code] = line.split(' ');
        return { name: optName!, hasArg: Number(hasArg) as 0 | 1 | 2, code: Number(code) };
      });
    const byName = optionLists[kind][family];
    let byRevision = byName.get(name);
    if (!byRevision) {
      if (byName.size >= 10_000) byName.clear();
      byRevision = new Map();
      byName.set(name, byRevision);
    }
    byRevision.set(revision ?? -1, list);
    return list;
  }
}

/** The size of the last dump, by family: the next is most likely about as large. */
const lastDumpSize: Record<Family, number> = { 4: 0, 6: 0 };
/** The same for the index of a table the kernel wrote (indexBlob). */
const lastIndexSize: Record<Family, number> = { 4: 0, 6: 0 };
const DUMP_SLACK = 1 << 16;

/**
 * Every chain, policy and rule of a libiptc handle in one call, as xtw_dump_table serialises them. The
 * returned buffer is JS-owned; nothing in it points into the handle. Without `counters`, every counter
 * reads 0: two such dumps are equal exactly when the tables hold the same rules.
 */
export function dumpTable(family: Family, handle: bigint, counters = true): Buffer {
  const fns = shim();
  const dump = counters ? fns.dumpTable : fns.dumpRules;
  return written(lastDumpSize, family, (out) => dump(NFPROTO[family], handle, out, out.length))!;
}

/**
 * What `write` writes into a buffer of the size it asks for (it returns the bytes it needs, written when
 * they fit; negative: nothing to give, null), sized first as the last one of the family: written straight
 * into the buffer returned, since a large table's is megabytes, not worth a second copy.
 */
function written(last: Record<Family, number>, family: Family, write: (out: Buffer) => number): Buffer | null {
  let size = last[family] + DUMP_SLACK;
  for (;;) {
    const out = Buffer.allocUnsafeSlow(size);
    const len = write(out);
    if (len < 0) return null;
    if (len <= out.length) {
      last[family] = len;
      // A table much smaller than the last is not worth holding the larger buffer for.
      return len < out.length / 2 && out.length > DUMP_SLACK ? Buffer.from(out.subarray(0, len)) : out.subarray(0, len);
    }
    size = len;
  }
}

/**
 * The index of a table the kernel wrote into `buffer` (`size` bytes of entries from `base`; `info` its
 * struct ipt_getinfo): xtw_dump_table's format, each rule's record holding where its entry is in `buffer`
 * (see xtw_index_blob). null where the shim finds the entries not laid out as libiptc would read them.
 */
export function indexBlob(family: Family, info: Buffer, buffer: Buffer, base: number, size: number): Buffer | null {
  const { indexBlob: index } = shim();
  return written(lastIndexSize, family, (out) => index(NFPROTO[family], info, buffer, base, size, out, out.length));
}

/**
 * Rules [from, from + count) of one chain of a libiptc handle, serialised as dumpTable serialises rules
 * (with counters); null when the handle has no such chain. The buffer is JS-owned.
 */
export function dumpChain(family: Family, handle: bigint, chain: string, from: number, count: number): Buffer | null {
  checkText('chain name', chain);
  const fns = shim();
  let size = 4096;
  for (;;) {
    const out = Buffer.allocUnsafeSlow(size);
    const len = fns.dumpChain(NFPROTO[family], handle, chain, from, count, out, out.length);
    if (len < 0) return null;
    if (len <= out.length) return out.subarray(0, len);
    size = len;
  }
}

/**
 * Appends `count` entries packed back to back in `entries` to a chain of a libiptc handle, in one call.
 * Returns how many were appended: fewer than `count` when the next one failed.
 */
export function appendEntries(family: Family, handle: bigint, chain: string, entries: Buffer, count: number): number {
  checkText('chain name', chain);
  return shim().appendEntries(NFPROTO[family], handle, chain, entries, count);
}

/**
 * Appends `count` records to the chains they name, in one call: each record is an 8-byte head (the byte
 * offset of its chain's NUL-terminated name in `names`, then padding) and an entry. Returns how many
 * were appended: fewer than `count` when the next one failed. The caller wrote the names (checkText'ed).
 */
export function appendToChains(family: Family, handle: bigint, names: Buffer, records: Buffer, count: number): number {
  return shim().appendToChains(NFPROTO[family], handle, names, records, count);
}

/**
 * How libxtables decides which revision of an extension the kernel has (opt is the getsockopt option
 * IPT_SO_GET_REVISION_MATCH 66 / _TARGET 67, IP6T_ 68 / 69): 1 usable, 0 not.
 */
export type RevisionProbe = (name: string, revision: number, opt: number) => number;

let installedProbe: unknown = null;

/**
 * Replaces libxtables' revision check, process-wide: `probe` instead of the legacy getsockopt, which
 * needs (and loads) ip_tables. null restores the getsockopt. libxtables asks once per extension
 * revision and keeps the answer, so install the probe before building any rule.
 */
export function setRevisionProbe(probe: RevisionProbe | null): void {
  const fns = shim();
  checkXtablesThread();
  const previous = installedProbe;
  if (probe === null) {
    fns.setRevisionProbe(null);
    installedProbe = null;
  } else {
    const registered = koffi.register((name: string, revision: number, opt: number) => {
      try {
        return probe(name, revision, opt);
      } catch {
        // A probe that cannot tell says usable: the kernel refuses a missing revision at commit.
        return 1;
      }
    }, koffi.pointer(revisionProbeType!));
    fns.setRevisionProbe(registered);
    installedProbe = registered;
  }
  if (previous !== null) koffi.unregister(previous as Parameters<typeof koffi.unregister>[0]);
}
