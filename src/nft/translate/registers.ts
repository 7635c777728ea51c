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

/** The byte range [START, END) each register number covers in the 64-byte register file; END 0: none. */
const START = new Int8Array(COUNT);
const END = new Int8Array(COUNT);
for (let reg = 1; reg <= 4; reg++) {
  START[reg] = (reg - 1) * 16;
  END[reg] = reg * 16;
}
for (let reg = 8; reg < COUNT; reg++) {
  START[reg] = (reg - 8) * 4;
  END[reg] = (reg - 7) * 4;
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
    if (reg < 0 || reg >= COUNT || END[reg] === 0) return null;
    const start = START[reg]!;
    const end = END[reg]!;
    for (let other = 1; other < COUNT; other++) {
      if (other !== reg && START[other]! < end && start < END[other]!) this.#regs[other]!.type = REG_NONE;
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
    let r = from;
    if (sreg !== dreg) {
      const { type, key, base, offset, len } = from;
      const to = this.#write(dreg);
      if (!to) return;
      Object.assign(to, { type, key, base, offset, len });
      r = to;
    }
    r.bitwise = true;
    r.maskOff = maskOff;
    r.maskLen = maskLen;
  }
}
