// Text output helpers shared by the commands: column layout, iptables-style unit suffixes, and JSON
// that keeps 64-bit counters exact.

/** Lays out rows in columns; `right` names the columns that are right-aligned (numbers). */
export function columns(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** 12345678 -> '12M', as `iptables -L -v` abbreviates counters (K = 1000). */
export function human(n: bigint | number): string {
  let v = typeof n === 'bigint' ? Number(n) : n;
  for (const unit of ['', 'K', 'M', 'G', 'T', 'P']) {
    if (v < 100_000 || unit === 'P') return `${Math.round(v)}${unit}`;
    v /= 1000;
  }
  return String(n);
}

/** A per-second rate with a unit suffix, e.g. '1.2K/s'. */
export function rate(perSecond: number, unit = ''): string {
  if (!Number.isFinite(perSecond)) return '-';
  const scaled: [number, string] =
    perSecond >= 1e9 ? [perSecond / 1e9, 'G'] : perSecond >= 1e6 ? [perSecond / 1e6, 'M'] : perSecond >= 1e3 ? [perSecond / 1e3, 'K'] : [perSecond, ''];
  const digits = scaled[0] >= 100 || scaled[0] === 0 ? 0 : 1;
  return `${scaled[0].toFixed(digits)}${scaled[1]}${unit}/s`;
}

/**
 * JSON with bigints written as plain JSON numbers (exact, however large), so `jq` and other tools
 * read counters as numbers without losing precision in this process.
 */
export function toJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      marks.push(v.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    },
    2,
  );
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
}

/** Thousands separators for progress lines: 1600 -> '1,600'. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
