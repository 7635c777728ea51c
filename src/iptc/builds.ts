// The builds of extension requests, shared by every match and target object that makes the same one: rule
// sets repeat the same matches over and over, and each parse through the extension costs microseconds.
import { readsKernelState, type BuiltExtension, type ExtensionKind, type ExtensionOption, type Family } from '../xtables/shim.js';

function optionsKeyOf(options: readonly ExtensionOption[]): string {
  let key = '';
  for (const o of options) key += `${o.invert ? '!' : ''}${o.name}\0${o.values.join('\0')}\x01`;
  return key;
}

function sameOptions(a: readonly ExtensionOption[], b: readonly ExtensionOption[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.invert !== y.invert || x.values.length !== y.values.length) return false;
    for (let j = 0; j < x.values.length; j++) if (x.values[j] !== y.values[j]) return false;
  }
  return true;
}

/**
 * The builds of one request (extension, revision, options, the header fields parsers read), shared by
 * every extension object that makes it: rule sets repeat the same matches over and over, and each parse
 * costs microseconds in the extension.
 */
export interface Builds {
  partial?: BuiltExtension;
  final?: BuiltExtension;
}

/**
 * One extension at one revision (or the newest) of one kind and family: its builds by request, and the
 * last request, which a loop making rule after rule of one shape asks for again without a key to build.
 */
export interface Site {
  exists: boolean;
  /** Its builds depend on kernel state (an ipset's index): never shared or kept (readsKernelState). */
  readonly kernelState: boolean;
  /** Which option each name given to set() stands for (see Extension's option keys); filled as asked. */
  readonly optionKeys: Map<string, string>;
  builds: Map<string, Builds>;
  last: { headerKey: number; options: readonly ExtensionOption[]; builds: Builds } | null;
}

const MAX_BUILDS = 20_000;
const MAX_SITES = 10_000;
let buildCount = 0;
/** Sites by kind and family, then by name (and revision when one was asked for). */
const sites: Record<ExtensionKind, Record<Family, Map<string, Site>>> = {
  match: { 4: new Map(), 6: new Map() },
  target: { 4: new Map(), 6: new Map() },
};

export function siteFor(kind: ExtensionKind, family: Family, name: string, revision: number | undefined): Site {
  const byName = sites[kind][family];
  const key = revision === undefined ? name : `${name}\0${revision}`;
  let site = byName.get(key);
  if (!site) {
    if (byName.size >= MAX_SITES) byName.clear();
    site = { exists: false, kernelState: readsKernelState(kind, name), optionKeys: new Map(), builds: new Map(), last: null };
    byName.set(key, site);
  }
  return site;
}

/** Bounds the memory of a process that makes endless different rules (sites held by objects stay usable). */
function forgetBuilds(): void {
  for (const byKind of Object.values(sites)) {
    for (const byName of Object.values(byKind)) {
      for (const site of byName.values()) {
        site.builds.clear();
        site.last = null;
      }
    }
  }
  buildCount = 1;
}

export function buildsAt(site: Site, headerKey: number, options: readonly ExtensionOption[]): Builds {
  const last = site.last;
  if (last && last.headerKey === headerKey && sameOptions(last.options, options)) return last.builds;
  const key = `${headerKey}\0${optionsKeyOf(options)}`;
  let entry = site.builds.get(key);
  if (!entry) {
    if (++buildCount > MAX_BUILDS) forgetBuilds();
    entry = {};
    site.builds.set(key, entry);
  }
  site.last = { headerKey, options, builds: entry };
  return entry;
}

export const NO_OPTIONS: readonly ExtensionOption[] = Object.freeze([]);
