// A kernel entry printed exactly as iptables-save prints it (print_rule4 / print_rule6), straight from
// the entry bytes: reading a large table must not build a Rule object per rule to print it.
import { checkEntry, entryLayout, extensionName, INV, IFNAMSIZ } from '../xtables/entry.js';
import type { RawChain, RawRule } from '../xtables/libiptc.js';
import { DumpedChain } from '../xtables/dumped.js';
import { printLines } from '../xtables/printed.js';
import { saveExtensionAt, type Family } from '../xtables/shim.js';
import { formatIPv4, formatIPv6, maskToPrefix } from '../inet/address.js';
import { protocolSaveName } from './address.js';
import { decodeBytes } from '../xtables/text.js';

function address(family: Family, entry: Buffer, letter: string, addrAt: number, maskAt: number, invert: boolean): string {
  const bang = invert ? ' !' : '';
  if (family === 4) {
    if (!invert && entry.readUInt32LE(addrAt) === 0 && entry.readUInt32LE(maskAt) === 0) return '';
    const prefix = maskToPrefix(entry, maskAt, 4);
    return `${bang} -${letter} ${formatIPv4(entry, addrAt)}/${prefix >= 0 ? prefix : formatIPv4(entry, maskAt)}`;
  }
  const prefix = maskToPrefix(entry, maskAt, 16);
  if (prefix === 0 && !invert) return '';
  const mask = prefix >= 0 ? String(prefix) : formatIPv6(entry, maskAt);
  return `${bang} -${letter} ${formatIPv6(entry, addrAt)}/${mask}`;
}

/**
 * print_iface: the name up to its mask, with `+` where the mask ends before the name does. Its bytes
 * read as the rest of a saved text reads (decodeBytes), so that the text's bytes are iptables-save's.
 */
function iface(entry: Buffer, letter: string, nameAt: number, maskAt: number, invert: boolean): string {
  if (entry[maskAt] === 0) return '';
  let text = '';
  let ascii = true;
  for (let i = 0; i < IFNAMSIZ; i++) {
    if (entry[maskAt + i] !== 0) {
      if (entry[nameAt + i] !== 0) text += String.fromCharCode(entry[nameAt + i]!);
      if (entry[nameAt + i]! >= 0x80) ascii = false;
    } else {
      if (entry[nameAt + i - 1] !== 0) text += '+';
      break;
    }
  }
  return `${invert ? ' !' : ''} -${letter} ${ascii ? text : decodeBytes(Buffer.from(text, 'latin1'))}`;
}

/**
 * The rule spec of an entry as iptables-save prints it after `-A CHAIN ` (without a leading space); the
 * entry is `buf` from `base`. `label` and `standard` are what libiptc says of the target; `printed`, when
 * given, is how the shim printed its matches and target (see printed.ts).
 */
export function saveEntry(family: Family, buf: Buffer, base: number, label: string, standard: boolean, printed?: string | null): string {
  const l = entryLayout(family);
  const inv = buf[base + l.invflags]!;
  const flags = buf[base + l.flags]!;
  let text =
    address(family, buf, 's', base + l.src, base + l.smsk, (inv & INV.SRCIP) !== 0) +
    address(family, buf, 'd', base + l.dst, base + l.dmsk, (inv & INV.DSTIP) !== 0) +
    iface(buf, 'i', base + l.iniface, base + l.inifaceMask, (inv & INV.VIA_IN) !== 0) +
    iface(buf, 'o', base + l.outiface, base + l.outifaceMask, (inv & INV.VIA_OUT) !== 0);
  const proto = buf[base + l.proto]! | (buf[base + l.proto + 1]! << 8);
  if (proto !== 0) text += `${inv & INV.PROTO ? ' !' : ''} -p ${protocolSaveName(proto)}`;
  if (l.fragFlag && flags & l.fragFlag) text += `${inv & INV.FRAG ? ' !' : ''} -f`;
  if (typeof printed === 'string') {
    // Every part starts with a space. The header fields' text is dropped its first, not the whole line
    // (a slice of the joined text would copy it: a large table prints thousands).
    return text === '' ? printed.slice(1) : text.slice(1) + printed;
  }
  // Each extension printed on its own; its save() reads the entry's header at the entry's start.
  const entry = base === 0 ? buf : buf.subarray(base, base + buf.readUInt16LE(base + l.nextOffset));
  const targetOffset = entry.readUInt16LE(l.targetOffset);
  for (let at = l.header; at < targetOffset; ) {
    const size = entry.readUInt16LE(at);
    const saved = saveExtensionAt('match', family, entry, entry, at, size);
    text += ` -m ${saved.name}${saved.text}`;
    at += size;
  }
  if (!standard) {
    const size = entry.readUInt16LE(l.nextOffset) - targetOffset;
    const saved = saveExtensionAt('target', family, entry, entry, targetOffset, size);
    text += ` -j ${saved.name || extensionName(entry.subarray(targetOffset))}${saved.text}`;
  } else if (label !== '') {
    text += ` -${flags & l.gotoFlag ? 'g' : 'j'} ${label}`;
  }
  return text.startsWith(' ') ? text.slice(1) : text;
}

/**
 * A rule's `-A CHAIN spec` line of iptables-save, with `[packets:bytes] ` before it for `counters`;
 * throws RangeError for an entry whose sizes do not hold together, as Rule.fromEntry does.
 */
export function saveRuleLine(family: Family, chain: string, raw: RawRule, counters: boolean): string {
  if (raw.checked !== true) checkEntry(family, raw.entry);
  const source = raw.source ?? raw.entry;
  const base = raw.source ? raw.at! : 0;
  let prefix = '';
  if (counters) {
    const at = base + entryLayout(family).counters;
    prefix = `[${source.readBigUInt64LE(at)}:${source.readBigUInt64LE(at + 8)}] `;
  }
  const printed = raw.printed?.text(raw.index!);
  const spec = saveEntry(family, source, base, typeof printed === 'string' ? '' : raw.label, raw.standard, printed);
  return `${prefix}-A ${chain}${spec === '' ? '' : ` ${spec}`}`;
}

/**
 * The chain as one dump's records, where it is one: a legacy table's chain, or an nft view's chain read
 * as one (nft-read.ts, which offers it as `dumped`).
 */
function dumpOf(chain: RawChain): DumpedChain | null {
  if (chain instanceof DumpedChain) return chain;
  const dumped = (chain as { dumped?: unknown }).dumped;
  return dumped instanceof DumpedChain ? dumped : null;
}

/** Rules printed by the shim in one call, at most: a chunk of a large chain's text at a time. */
const LINES_CHUNK = 4096;

/**
 * The `-A CHAIN` lines of a chain as iptables-save prints them, each with its newline; printed by the
 * shim a chunk of rules at a time where it can, rule by rule where it leaves one to JS.
 */
export function saveChainLines(family: Family, chain: RawChain, counters: boolean, out: string[]): void {
  const rules = chain.rules;
  const dump = dumpOf(chain);
  if (dump === null) {
    for (const raw of rules) out.push(`${saveRuleLine(family, chain.name, raw, counters)}\n`);
    return;
  }
  const dumped = dump.rules;
  for (let i = 0; i < dumped.length; ) {
    const count = Math.min(LINES_CHUNK, dumped.length - i);
    const lines = printLines(family, dump.dump, dump.entries, dumped[i]!.record, count, chain.name, counters);
    if (lines === null) {
      // An extension the shim could not print: rule by rule, so that the one at fault says why.
      for (const end = i + count; i < end; i++) out.push(`${saveRuleLine(family, chain.name, dumped[i]!, counters)}\n`);
      continue;
    }
    out.push(lines.text);
    i += lines.printed;
    if (lines.printed < count) {
      out.push(`${saveRuleLine(family, chain.name, dumped[i]!, counters)}\n`);
      i++;
    }
  }
}
