// Strings read again and again out of a larger text or buffer (a table's labels, its extensions' names,
// their options' names): the one read lately is handed out again, so thousands of rules share one string
// (no copy each, and a Map or property lookup finds its hash already computed).

/** The last few strings read by one reader, most recent first. */
export class RecentStrings {
  readonly #known: string[] = [];
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  /** text[start, end): the string read before for it where there is one. */
  fromText(text: string, start: number, end: number): string {
    for (let i = 0; i < this.#known.length; i++) {
      const known = this.#known[i]!;
      if (known.length === end - start && text.startsWith(known, start)) return known;
    }
    return this.#remember(text.slice(start, end));
  }

  /** The bytes [start, end) of `bytes` read as Latin-1: the string read before for them where there is one. */
  fromLatin1(bytes: Buffer, start: number, end: number): string {
    for (let k = 0; k < this.#known.length; k++) {
      const known = this.#known[k]!;
      if (known.length !== end - start) continue;
      let i = 0;
      while (i < known.length && known.charCodeAt(i) === bytes[start + i]) i++;
      if (i === known.length) return known;
    }
    return this.#remember(bytes.toString('latin1', start, end));
  }

  #remember(text: string): string {
    if (this.#known.unshift(text) > this.#size) this.#known.pop();
    return text;
  }
}
