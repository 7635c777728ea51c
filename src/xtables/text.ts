// C strings (bytes) and JS strings without loss. The kernel stores a comment or a log prefix as bytes,
// which need not be UTF-8; read as UTF-8 they would become U+FFFD and write back as other bytes. Here a
// byte that is not part of valid UTF-8 reads as the lone surrogate U+DC80 + byte (Python's
// "surrogateescape"), and such a surrogate writes back as that byte: bytes -> string -> bytes is exact.
import { isUtf8 } from 'node:buffer';

/** Length of the valid UTF-8 sequence at `i` (1-4), or 0 if the byte there does not start one. */
function sequenceLength(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > end) return 0;
  let cp = c & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const cc = b[i + k]!;
    if ((cc & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/** Bytes as a string: UTF-8, each byte outside valid UTF-8 as U+DC80 + byte. */
export function decodeBytes(buffer: Buffer, start = 0, end = buffer.length): string {
  const view = start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end);
  if (isUtf8(view)) return view.toString('utf8');
  let out = '';
  let run = start;
  for (let i = start; i < end; ) {
    const n = sequenceLength(buffer, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buffer.toString('utf8', run, i) + String.fromCharCode(0xdc00 + buffer[i]!);
    i++;
    run = i;
  }
  return out + buffer.toString('utf8', run, end);
}

const SURROGATE = /[\ud800-\udfff]/;

/** Whether a string holds a surrogate code unit (an escaped byte, or a character outside the BMP). */
export function hasSurrogate(text: string): boolean {
  return SURROGATE.test(text);
}

/**
 * A string as bytes: UTF-8, each lone U+DC80-U+DCFF as the byte it stands for, so that decodeBytes gives
 * the string back. Any other lone surrogate has no bytes, and escaped bytes that form valid UTF-8 would
 * read back as another string: both are a TypeError (Buffer.from would write U+FFFD, or change it).
 */
export function encodeText(text: string, what = 'text'): Buffer {
  if (!hasSurrogate(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(text.slice(run, i), 'utf8'), Buffer.of(c - 0xdc00));
      run = i + 1;
      continue;
    }
    throw new TypeError(`${what} holds a lone surrogate (U+${c.toString(16).toUpperCase()}), which is no character and no byte`);
  }
  parts.push(Buffer.from(text.slice(run), 'utf8'));
  const bytes = Buffer.concat(parts);
  // Escaped bytes that together are valid UTF-8 (U+DCC3 U+DC80 is C3 80, `À`) would read back as that
  // character, not as the string given.
  if (decodeBytes(bytes) !== text) {
    throw new TypeError(`${what} escapes bytes that are valid UTF-8 together: write the character they make instead`);
  }
  return bytes;
}
