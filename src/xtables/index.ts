/**
 * `iptc/xtables`: the low-level extension layer, for advanced users. It builds and prints xtables match
 * and target blobs through the extensions installed on the machine, and exposes libiptc handles and the
 * rule entry layout. Most programs want the object model in `iptc` instead.
 *
 * @module
 */
export { IPTCError, XTablesError, LibraryError } from './errors.js';
export { XTablesLockError, withXtablesLock, type LockWait } from './lock.js';
export { XTablesThreadError } from './shim.js';
export {
  buildExtension,
  saveExtension,
  isTargetExtension,
  loadKernelModule,
  extensionUserspacesize,
  extensionOptions,
  type OptionSpec,
  NFPROTO,
  type Family,
  type ExtensionKind,
  type ExtensionOption,
  type BuiltExtension,
  type SavedExtension,
} from './shim.js';
export { TableHandle, type RawChain, type RawRule } from './libiptc.js';
export {
  entryLayout,
  encodeHeader,
  decodeHeader,
  assembleEntry,
  splitEntry,
  standardTarget,
  deleteMask,
  extensionName,
  extensionRevision,
  sameEntry,
  INV,
  type EntryHeader,
  type EntryLayout,
} from './entry.js';
