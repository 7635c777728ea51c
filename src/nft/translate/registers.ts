// What each nf_tables register holds while a rule is read: a meta key, a payload load (base, offset,
// length) or an immediate value, and whether a bitwise mask was applied on the way. Registers 1-4 are
// 16 bytes wide and overlap the 4-byte registers 8-23, so a load into one forgets what overlaps it.

export const REG_NONE = 0;
export const REG_META = 1;
export const REG_PAYLOAD = 2;
export const REG_IMMEDIATE = 3;

export interface Register {
  type: number;
  /** Meta key, or payload base. */
  key: number;
  base: number;
  offset: number;
  len: number;
  bitwise: boolean;
  /** Offset and length of the bitwise mask in the message. */
  maskOff: number;
  maskLen: number;
  /** Offset and length of an immediate value in the message. */
  immOff: number;
  immLen: number;
}

const COUNT = 24;

/** The byte range a register number covers in the 64-byte register file; null for the verdict. */
function span(reg: number): [number, number] | null {
  if (reg >= 1 && reg <= 4) return [(reg - 1) * 16, reg * 16];
  if (reg >= 8 && reg < COUNT) return [(reg - 8) * 4, (reg - 7) * 4];
  return null;
}

export class Registers {
  readonly #regs: Register[] = Array.from({ length: COUNT }, () => ({
    type: REG_NONE, key: 0, base: 0, offset: 0, len: 0, bitwise: false, maskOff: -1, maskLen: 0, immOff: -1, immLen: 0,
  }));

  clear(): void {
    for (const r of this.#regs) r.type = REG_NONE;
  }

  /** The register's content, or null when nothing known was loaded into it. */
  get(reg: number): Register | null {
    const r = reg >= 0 && reg < COUNT ? this.#regs[reg]! : undefined;
    return r && r.type !== REG_NONE ? r : null;
  }

  #write(reg: number): Register | null {
    const s = span(reg);
    if (!s) return null;
    for (let other = 0; other < COUNT; other++) {
      const o = span(other);
      if (other !== reg && o && o[0] < s[1] && s[0] < o[1]) this.#regs[other]!.type = REG_NONE;
    }
    const r = this.#regs[reg]!;
    r.bitwise = false;
    r.maskOff = -1;
    r.maskLen = 0;
    r.immOff = -1;
    r.immLen = 0;
    return r;
  }

  /** A meta (key) or payload (base, offset, len) load. An invalid register leaves nothing known. */
  load(reg: number, type: number, keyOrBase: number, offset: number, len: number): void {
    const r = this.#write(reg);
    if (!r) return;
    r.type = type;
    r.key = keyOrBase;
    r.base = keyOrBase;
    r.offset = offset;
    r.len = len;
  }

  immediate(reg: number, off: number, len: number): void {
    const r = this.#write(reg);
    if (!r) return;
    r.type = REG_IMMEDIATE;
    r.immOff = off;
    r.immLen = len;
  }

  /** `dreg = sreg & mask`: dreg takes sreg's content, masked. */
  mask(sreg: number, dreg: number, maskOff: number, maskLen: number): void {
    const from = this.get(sreg);
    if (!from) return;
    const copy = { ...from };
    const r = sreg === dreg ? from : this.#write(dreg);
    if (!r) return;
    Object.assign(r, copy);
    r.bitwise = true;
    r.maskOff = maskOff;
    r.maskLen = maskLen;
  }
}
