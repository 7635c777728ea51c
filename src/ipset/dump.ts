// Listing: LIST and SAVE dumps, read page by page until NLMSG_DONE, one IPSetInfo per set (a set's
// entries may span many messages; its header comes with the first). The entries are handed on a page at
// a time, so that a listing of a million entries need not be held whole.
import { NlaTable, readStr } from './attributes.js';
import type { Channel } from './channel.js';
import { Attr, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from './constants.js';
import { decodeEntry, type IPSetEntry } from './entry.js';
import { decodeHeader, type IPSetInfo } from './header.js';
import type { NlMessage } from './netlink.js';
import { familyName } from './types.js';
import { checkSetName } from './words.js';

/** What a listing is handed, in order: each set (its `entries` left empty), then its entries page by page. */
export interface ListVisitor {
  /** A set's header, before any of its entries (its `entries` list is empty). */
  set(info: IPSetInfo): void;
  /** A page of the set's entries, in the kernel's order; the array is the visitor's to keep. */
  entries(info: IPSetInfo, entries: IPSetEntry[]): void;
}

/** Every set (or one) with all its entries, held whole. */
export function dump(ch: Channel, cmd: number, name: string | undefined, listFlags: number, command: string): IPSetInfo[] {
  const sets: IPSetInfo[] = [];
  dumpEach(ch, cmd, name, listFlags, command, {
    set: (info) => sets.push(info),
    entries: (info, entries) => {
      for (const e of entries) info.entries.push(e);
    },
  });
  return sets;
}

/** The dump of `cmd`, handed to `visit` as it arrives (see ListVisitor). */
export function dumpEach(ch: Channel, cmd: number, name: string | undefined, listFlags: number, command: string,
  visit: ListVisitor): void {
  const { seq, at } = ch.begin(cmd, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
  if (name !== undefined) {
    checkSetName(name);
    ch.w.str(Attr.SETNAME, name);
  }
  if (listFlags) ch.w.be32(Attr.FLAGS, listFlags);
  ch.w.finishMessage(at);
  ch.sock.send(ch.w.result());
  const byName = new Map<string, IPSetInfo>();
  const top = new NlaTable(16);
  const el = new NlaTable(32);
  const onMessage = (m: NlMessage) => {
    const buf = m.buf;
    const end = m.off + m.len;
    top.parse(buf, m.off + 20, end);
    const o = top.offsets;
    if (o[Attr.SETNAME]! < 0) return;
    const setName = readStr(buf, o[Attr.SETNAME]!, top.lengths[Attr.SETNAME]!);
    let info = byName.get(setName);
    if (!info || o[Attr.TYPENAME]! >= 0) {
      const family = o[Attr.FAMILY]! >= 0 ? buf[o[Attr.FAMILY]!]! : 0;
      const type = o[Attr.TYPENAME]! >= 0 ? readStr(buf, o[Attr.TYPENAME]!, top.lengths[Attr.TYPENAME]!) : '';
      info = {
        name: setName,
        type,
        family: familyName(family),
        revision: o[Attr.REVISION]! >= 0 ? buf[o[Attr.REVISION]!]! : 0,
        header: o[Attr.DATA]! >= 0
          ? decodeHeader(buf, o[Attr.DATA]!, o[Attr.DATA]! + top.lengths[Attr.DATA]!, family)
          : { counters: false, comment: false, skbinfo: false, forceadd: false },
        entries: [],
      };
      if (o[Attr.INDEX]! >= 0) info.index = buf.readUInt16BE(o[Attr.INDEX]!);
      if (type) ch.typeCache.set(setName, type);
      byName.set(setName, info);
      visit.set(info);
    }
    if (o[Attr.ADT]! >= 0) {
      const entries: IPSetEntry[] = [];
      let p = o[Attr.ADT]!;
      const adtEnd = p + top.lengths[Attr.ADT]!;
      while (p + 4 <= adtEnd) {
        const len = buf[p]! | (buf[p + 1]! << 8);
        if (len < 4) break;
        el.parse(buf, p + 4, p + len);
        entries.push(decodeEntry(buf, el));
        p += (len + 3) & ~3;
      }
      visit.entries(info, entries);
    }
  };
  try {
    ch.sock.collect(seq, false, onMessage);
  } catch (e) {
    throw ch.kernelError(e, command, name);
  }
}
