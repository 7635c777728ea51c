// What both directions of the codec share: where addresses sit in the IPv4/IPv6 header, the name
// iptables-nft compares for `! -i +`, and reading names out of entries without making strings.
import type { Family } from '../../xtables/shim.js';

/** Offsets of the source and destination addresses in the network header (struct iphdr / ip6_hdr). */
export const ADDRESS_OFFSETS: Record<Family, { src: number; dst: number }> = {
  4: { src: 12, dst: 16 },
  6: { src: 8, dst: 24 },
};

/** `! -i +` is written as a comparison with this name, which no interface can have (nft-shared.c). */
export const INVAL_D = Buffer.from('INVAL/D\0', 'latin1');

/** A NUL-terminated string of at most `max` bytes. */
export function cString(buf: Buffer, at: number, max: number): string {
  let end = at;
  const limit = Math.min(at + max, buf.length);
  while (end < limit && buf[end] !== 0) end++;
  return buf.toString('latin1', at, end);
}

/** Whether the NUL-terminated name at `at` is `name`. */
export function isName(buf: Buffer, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if (buf[at + i] !== name.charCodeAt(i)) return false;
  return buf[at + name.length] === 0;
}
