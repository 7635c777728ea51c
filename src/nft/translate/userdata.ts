// NFTA_RULE_USERDATA: type-length-value records (u8 type, u8 len, value). iptables-nft reads a comment
// (type 0, NUL-terminated) into a `-m comment` placed after every other match; nft writes its own
// `comment "..."` the same way.
import { XT_COMMENT } from '../../xtables/blobs.js';
import { UDATA_TYPE_COMMENT } from '../constants.js';
import { NftOpaqueRuleError } from '../errors.js';

/**
 * Where the comment text of a rule's userdata sits (its offset; the length is returned through the
 * second element), or null when the userdata holds no comment.
 */
export function findComment(buf: Buffer, off: number, len: number): { off: number; len: number } | null {
  const end = off + len;
  for (let p = off; p + 2 <= end; ) {
    const type = buf[p]!;
    const vlen = buf[p + 1]!;
    const value = p + 2;
    if (value + vlen > end) throw new NftOpaqueRuleError('malformed rule userdata');
    if (type === UDATA_TYPE_COMMENT) {
      if (vlen === 0 || buf[value + vlen - 1] !== 0) throw new NftOpaqueRuleError('a rule comment without its terminating NUL');
      if (vlen - 1 >= XT_COMMENT.dataSize) throw new NftOpaqueRuleError('a rule comment longer than the 255 bytes -m comment holds');
      return { off: value, len: vlen - 1 };
    }
    p = value + vlen;
  }
  return null;
}
