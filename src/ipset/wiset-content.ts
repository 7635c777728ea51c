// WiSet.content: the elements of a set by key, as pyroute2's WiSet keys them. A net part always carries its
// prefix (`192.168.1.1/32`, which `ipset list` prints as `192.168.1.1`), and an interface part is the bare
// name, with `physdev` in the element's IPStats. Lookups take the CLI's form of an element as well.
import type { IPStats } from './wiset.js';
import type { Dim } from './types.js';

const PHYSDEV = 'physdev:';

/**
 * The key parts of an element text for the set's layout: nets with their prefix, the interface without
 * `physdev:`. undefined when the text does not split into the layout's parts (then it is its own key).
 */
function keyParts(text: string, dims: readonly Dim[] | undefined): { key: string; physdev: boolean; cliKey: string } | undefined {
  if (!dims || !dims.some((d) => d === 'net' || d === 'net2' || d === 'iface')) return undefined;
  const parts = text.split(',');
  if (parts.length !== dims.length) return undefined;
  let physdev = false;
  const cli = parts.slice();
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const d = dims[i];
    if ((d === 'net' || d === 'net2') && !p.includes('/')) {
      parts[i] = cli[i] = `${p}/${p.includes(':') ? 128 : 32}`;
    } else if (d === 'iface' && p.startsWith(PHYSDEV)) {
      parts[i] = p.slice(PHYSDEV.length);
      physdev = true;
    }
  }
  return { key: parts.join(','), physdev, cliKey: cli.join(',') };
}

/**
 * A Map from pyroute2's element keys to IPStats whose get() and has() also find an element by the form
 * `ipset list` prints it in. A physdev element whose bare key is taken by the same net and interface
 * without physdev (the kernel holds both) keeps the CLI's `physdev:` key, so that neither hides the other.
 */
export class WiSetContent extends Map<string, IPStats> {
  private readonly dims: readonly Dim[] | undefined;

  constructor(entries: Iterable<[string, IPStats]>, dims: readonly Dim[] | undefined) {
    super();
    this.dims = dims;
    const physdevLater: [string, IPStats][] = [];
    for (const [text, stats] of entries) {
      const k = keyParts(text, dims);
      if (!k) super.set(text, stats);
      else if (stats.physdev) physdevLater.push([text, stats]);
      else super.set(k.key, stats);
    }
    for (const [text, stats] of physdevLater) {
      const k = keyParts(text, dims)!;
      super.set(super.has(k.key) ? k.cliKey : k.key, stats);
    }
  }

  override get(key: string): IPStats | undefined {
    const exact = super.get(key);
    if (exact !== undefined || typeof key !== 'string') return exact;
    const k = keyParts(key, this.dims);
    if (!k) return undefined;
    const found = super.get(k.key);
    // `net,physdev:eth0` asks for the physdev element: not the plain one, which may hold the bare key.
    if (k.physdev && found && !found.physdev) return super.get(k.cliKey);
    return found;
  }

  override has(key: string): boolean {
    return this.get(key) !== undefined;
  }
}
