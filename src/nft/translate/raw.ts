// A rule read from the kernel sent back as it is (a REPLACE that zeroes or sets its counter), without
// decoding it: its expressions and userdata copied, its counter rewritten, and NFTA_RULE_COMPAT, which
// dumps lack, recovered from its protocol comparison as iptables-nft does (nft.c recover_rule_compat).
import type { NlaWriter } from '../../netlink/attributes.js';
import { NFT_RULE_COMPAT_F_INV, NFTA_RULE, NFTA_RULE_COMPAT } from '../constants.js';
import { readCmp, CMP_OP, type CmpExpr } from '../expr/cmp.js';
import { EXPR, walkExprs } from '../expr/element.js';
import { META_KEY, readMeta, type MetaExpr } from '../expr/meta.js';
import { noValue } from '../expr/value.js';
import { findCounter, type NftRule } from '../rule.js';
import { NlaTable } from '../../netlink/attributes.js';

const t = new NlaTable(8);
const meta: MetaExpr = { key: 0, dreg: -1, sreg: -1 };
const cmp: CmpExpr = { sreg: 0, op: 0, data: noValue() };

/** The protocol of `meta load l4proto => reg N` directly followed by `cmp OP reg N P`; null when none. */
export function recoverCompat(buf: Buffer, start: number, end: number): { proto: number; inverted: boolean } | null {
  let reg = -1;
  let found: { proto: number; inverted: boolean } | null = null;
  walkExprs(buf, start, end, (span) => {
    if (span.dataOff < 0) {
      reg = -1;
      return true;
    }
    t.parse(buf, span.dataOff, span.dataEnd);
    if (reg >= 0 && span.kind === EXPR.cmp) {
      readCmp(buf, t, cmp);
      if (cmp.sreg === reg && cmp.data.len >= 1) {
        found = { proto: buf[cmp.data.off]!, inverted: cmp.op === CMP_OP.NEQ };
        return false;
      }
    }
    reg = -1;
    if (span.kind === EXPR.meta) {
      readMeta(buf, t, meta);
      if (meta.key === META_KEY.L4PROTO && meta.dreg >= 0) reg = meta.dreg;
    }
    return true;
  });
  return found;
}

/** Writes EXPRESSIONS (the rule's own, counter set to `counters`), COMPAT when recoverable, USERDATA. */
export function rawRuleBody(w: NlaWriter, rule: NftRule, counters: { packets: bigint; bytes: bigint }): void {
  const m = rule.buf;
  const nest = w.beginNest(NFTA_RULE.EXPRESSIONS);
  const start = w.pos;
  w.raw(m, rule.exprOff, rule.exprEnd);
  const end = w.pos;
  w.endNest(nest);
  const c = findCounter(w.buf, start, end);
  if (c.packetsAt >= 0) {
    w.buf.writeBigUInt64BE(counters.packets, c.packetsAt);
    w.buf.writeBigUInt64BE(counters.bytes, c.bytesAt);
  }
  const compat = recoverCompat(m, rule.exprOff, rule.exprEnd);
  if (compat) {
    const at = w.beginNest(NFTA_RULE.COMPAT);
    w.u32be(NFTA_RULE_COMPAT.PROTO, compat.proto);
    w.u32be(NFTA_RULE_COMPAT.FLAGS, compat.inverted ? NFT_RULE_COMPAT_F_INV : 0);
    w.endNest(at);
  }
  if (rule.udataOff >= 0) w.bytesOf(NFTA_RULE.USERDATA, m, rule.udataOff, rule.udataOff + rule.udataLen);
}
