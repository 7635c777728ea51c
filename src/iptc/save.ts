// A kernel entry printed exactly as iptables-save prints it (print_rule4 / print_rule6), straight from
// the entry bytes: reading a large table must not build a Rule object per rule to print it.
import { entryLayout, extensionName, INV, IFNAMSIZ } from '../xtables/entry.js';
import { saveExtensionAt, type Family } from '../xtables/shim.js';
import { formatIPv4, formatIPv6, maskToPrefix } from '../inet/address.js';
import { protocolSaveName } from './address.js';

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

/** print_iface: the name up to its mask, with `+` where the mask ends before the name does. */
function iface(entry: Buffer, letter: string, nameAt: number, maskAt: number, invert: boolean): string {
  if (entry[maskAt] === 0) return '';
  let text = '';
  for (let i = 0; i < IFNAMSIZ; i++) {
    if (entry[maskAt + i] !== 0) {
      if (entry[nameAt + i] !== 0) text += String.fromCharCode(entry[nameAt + i]!);
    } else {
      if (entry[nameAt + i - 1] !== 0) text += '+';
      break;
    }
  }
  return `${invert ? ' !' : ''} -${letter} ${text}`;
}

/**
 * The rule spec of an entry as iptables-save prints it after `-A CHAIN ` (without a leading space).
 * `label` and `standard` are what libiptc says of the target; `printed`, when given, is how the shim
 * printed its matches and target (see printed.ts).
 */
export function saveEntry(family: Family, entry: Buffer, label: string, standard: boolean, printed?: string | null): string {
  const l = entryLayout(family);
  const inv = entry[l.invflags]!;
  const flags = entry[l.flags]!;
  let text =
    address(family, entry, 's', l.src, l.smsk, (inv & INV.SRCIP) !== 0) +
    address(family, entry, 'd', l.dst, l.dmsk, (inv & INV.DSTIP) !== 0) +
    iface(entry, 'i', l.iniface, l.inifaceMask, (inv & INV.VIA_IN) !== 0) +
    iface(entry, 'o', l.outiface, l.outifaceMask, (inv & INV.VIA_OUT) !== 0);
  const proto = entry.readUInt16LE(l.proto);
  if (proto !== 0) text += `${inv & INV.PROTO ? ' !' : ''} -p ${protocolSaveName(proto)}`;
  if (l.fragFlag && flags & l.fragFlag) text += `${inv & INV.FRAG ? ' !' : ''} -f`;
  if (typeof printed === 'string') {
    text += printed;
    return text.startsWith(' ') ? text.slice(1) : text;
  }
  // The entry starts with its header, which is all save() functions read of it.
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
