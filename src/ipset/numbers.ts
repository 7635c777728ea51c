// Numbers in text (restore lines, prefix lengths, ports, ICMP codes, marks), read as the ipset tool reads
// them: strtoull with base 0, so `0x50` is hex. The same call reads a leading 0 as octal (`010` is 8, `/010`
// is /8), which is rarely what the writer meant and which other tools read as decimal: such text is refused
// with an error that says both readings, so that no text ever means something else here than there.

/** How a text is shaped as a number: decimal, hex (0x), leading zero (octal for the tool), or not a number. */
export function numberShape(text: string): 'decimal' | 'hex' | 'leading-zero' | 'none' {
  if (/^(0|[1-9][0-9]*)$/.test(text)) return 'decimal';
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return 'hex';
  if (/^0[0-9]+$/.test(text)) return 'leading-zero';
  return 'none';
}

function leadingZero(text: string, what: string): TypeError {
  const octal = /^0[0-7]+$/.test(text) ? `reads it as octal ${parseInt(text, 8)}` : 'refuses it (not an octal number)';
  const decimal = text.replace(/^0+(?=\d)/, '');
  return new TypeError(`${what} '${text}' has a leading zero: the ipset tool ${octal}; write ${decimal} (decimal) or 0x${Number(decimal).toString(16)} (hex)`);
}

/**
 * An unsigned integer from text: decimal, or hex after `0x`, at most `max`. A leading zero (the tool's
 * octal), signs, spaces and anything else are refused.
 */
export function parseNumberText(text: unknown, what: string, max: number, min = 0): number {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a number or a numeric string, got ${typeof text}`);
  const shape = numberShape(text);
  if (shape === 'leading-zero') throw leadingZero(text, what);
  if (shape === 'none') throw new TypeError(`${what} must be a decimal number (or hex as 0x...), got '${text}'`);
  const v = shape === 'hex' ? parseInt(text.slice(2), 16) : Number(text);
  if (v < min || v > max) throw new RangeError(`${what} '${text}' is out of range ${min}..${max}`);
  return v;
}

/** A 64-bit counter (packets, bytes) from text, read like parseNumberText but exactly, as a bigint. */
export function parseBigNumberText(text: string, what: string): bigint {
  const shape = numberShape(text);
  if (shape === 'leading-zero') throw leadingZero(text, what);
  if (shape === 'none') throw new TypeError(`${what} must be a decimal number (or hex as 0x...), got '${text}'`);
  const v = BigInt(shape === 'hex' ? `0x${text.slice(2)}` : text);
  if (v > 0xffffffffffffffffn) throw new RangeError(`${what} '${text}' is out of range 0..18446744073709551615`);
  return v;
}

/** An integer option value (a number, never a numeric string): min..max. */
export function intOption(v: unknown, what: string, min = 0, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${what} must be an integer ${min}..${max}, got ${typeof v === 'string' ? `'${v}'` : String(v)}`);
  }
  return v;
}

/** The kernel keeps timeouts in milliseconds in 32 bits: it silently cuts larger ones to this (seconds). */
export const IPSET_MAX_TIMEOUT = 2147483;
