// NFTA_RULE_USERDATA: type-length-value records (u8 type, u8 len, value). iptables-nft reads a comment
// (type 0, NUL-terminated) into a `-m comment` placed after every other match; nft writes its own
// `comment "..."` the same way.
import { EXTENSION_HEADER } from '../../xtables/entry.js';
import { extensionBlob, XT_COMMENT } from '../../xtables/blobs.js';
import { UDATA_TYPE_COMMENT } from '../constants.js';
import { NftOpaqueRuleError } from '../errors.js';

/** The `-m comment` blob of a rule's userdata, or null when it holds no comment. */
export function readComment(buf: Buffer, off: number, len: number): Buffer | null {
  const end = off + len;
  for (let p = off; p + 2 <= end; ) {
    const type = buf[p]!;
    const vlen = buf[p + 1]!;
    const value = p + 2;
    if (value + vlen > end) throw new NftOpaqueRuleError('malformed rule userdata');
    if (type === UDATA_TYPE_COMMENT) {
      if (vlen === 0 || buf[value + vlen - 1] !== 0) throw new NftOpaqueRuleError('a rule comment without its terminating NUL');
      const text = vlen - 1;
      if (text >= XT_COMMENT.dataSize) throw new NftOpaqueRuleError('a rule comment longer than the 255 bytes -m comment holds');
      const blob = extensionBlob(XT_COMMENT);
      buf.copy(blob, EXTENSION_HEADER, value, value + text);
      return blob;
    }
    p = value + vlen;
  }
  return null;
}
