// `lookup`: whether a register's value is in a set (`ip saddr { 1.2.3.4, 5.6.7.8 }`). Read only:
// iptables has no form for it in ip/ip6 tables (iptables-nft 1.8.9 silently drops it), so a rule holding
// one is never translated.
import type { NlaTable } from '../../netlink/attributes.js';
import { readStr } from '../../netlink/attributes.js';
import { u32 } from './element.js';

export const NFTA_LOOKUP = { SET: 1, SREG: 2, DREG: 3, SET_ID: 4, FLAGS: 5 } as const;
export const LOOKUP_F_INV = 1;

export interface LookupExpr {
  set: string;
  sreg: number;
  flags: number;
}

export function readLookup(buf: Buffer, t: NlaTable, into: LookupExpr): LookupExpr {
  const o = t.offsets;
  into.set = o[NFTA_LOOKUP.SET]! >= 0 ? readStr(buf, o[NFTA_LOOKUP.SET]!, t.lengths[NFTA_LOOKUP.SET]!) : '';
  into.sreg = u32(buf, t, NFTA_LOOKUP.SREG);
  into.flags = u32(buf, t, NFTA_LOOKUP.FLAGS, 0);
  return into;
}
