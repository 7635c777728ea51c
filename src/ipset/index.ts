/**
 * `iptc/ipset`: Linux ipsets over netlink. IPSet is the low-level socket (one method per ipset command);
 * WiSet is the friendly object for one set.
 *
 * @module
 */
export { IPSet, type CreateOptions, type AddOptions } from './ipset.js';
export type { IPSetOptions } from './netns.js';
export { NetnsError } from '../netns/errors.js';
export { PortEntry, PortRange } from './ports.js';
export { WiSet, loadIpset, loadAllIpsets, getIpsetSocket, type IPStats, type WiSetOptions } from './wiset.js';
export { IPSetError, IPSET_ERR, describeError, type IPSetErrorDetails, type Kind } from './errors.js';
export type { Entry, EntryPart, EntryOptions, EntryWithOptions, IPSetEntry } from './entry.js';
export type { ListVisitor } from './dump.js';
export type { IPSetHeader, IPSetInfo } from './header.js';
export { SET_TYPES, type SetTypeInfo, type Dim, type SetKind } from './types.js';
