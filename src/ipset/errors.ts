// Errors that carry both the errno the kernel returned and what ipset means by it. ipset reuses one
// range of codes (4352+) with a different meaning per set-type family, so the message depends on the
// kind of set the command was about.
import { constants } from 'node:os';

/** ipset's private error codes (IPSET_ERR_*), as the kernel returns them (positive). */
export const IPSET_ERR = {
  /** Ipset protocol error (the kernel rejected the message format). */
  PROTOCOL: 4097,
  /** Set type not supported by the kernel. */
  FIND_TYPE: 4098,
  /** Maximal number of sets reached, cannot create more. */
  MAX_SETS: 4099,
  /** Set is in use by a kernel component (a rule or a list:set references it). */
  BUSY: 4100,
  /** The second set name is taken (rename) or does not exist (swap). */
  EXIST_SETNAME2: 4101,
  /** The sets cannot be swapped: their type or family does not match. */
  TYPE_MISMATCH: 4102,
  /** Element already exists (add) or is not in the set (del/test). */
  EXIST: 4103,
  /** The CIDR prefix length is invalid. */
  INVALID_CIDR: 4104,
  /** The netmask is invalid. */
  INVALID_NETMASK: 4105,
  /** Protocol family not supported by the set type. */
  INVALID_FAMILY: 4106,
  /** Timeout extension not enabled: the set was created without timeout support. */
  TIMEOUT: 4107,
  /** Set is referenced and cannot be renamed or destroyed. */
  REFERENCED: 4108,
  /** An IPv4 address is expected. */
  IPADDR_IPV4: 4109,
  /** An IPv6 address is expected. */
  IPADDR_IPV6: 4110,
  /** Counters extension not enabled: the set was created without counters. */
  COUNTER: 4111,
  /** Comment extension not enabled: the set was created without comment support. */
  COMMENT: 4112,
  /** The markmask is invalid. */
  INVALID_MARKMASK: 4113,
  /** Skbinfo extension not enabled: the set was created without skbinfo support. */
  SKBINFO: 4114,
  /** Netmask and bitmask are mutually exclusive. */
  BITMASK_NETMASK_EXCL: 4115,
  /** The first set-type specific code: its meaning depends on the kind of set (hash, bitmap, list). */
  TYPE_SPECIFIC: 4352,
} as const;

/** The kind of set an error code is resolved for (type-specific codes differ per kind). */
export type Kind = 'hash' | 'bitmap' | 'list';

const GENERIC: Record<number, [string, string]> = {
  4097: ['IPSET_ERR_PROTOCOL', 'ipset protocol error (the kernel rejected the message format)'],
  4098: ['IPSET_ERR_FIND_TYPE', 'set type not supported by the kernel'],
  4099: ['IPSET_ERR_MAX_SETS', 'maximal number of sets reached, cannot create more'],
  4100: ['IPSET_ERR_BUSY', 'set is in use by a kernel component (a rule or a list:set references it)'],
  4101: ['IPSET_ERR_EXIST_SETNAME2', 'the second set name is taken (rename) or does not exist (swap)'],
  4102: ['IPSET_ERR_TYPE_MISMATCH', 'the sets cannot be swapped: their type or family does not match'],
  4103: ['IPSET_ERR_EXIST', 'element already exists (add) or is not in the set (del/test)'],
  4104: ['IPSET_ERR_INVALID_CIDR', 'the CIDR prefix length is invalid'],
  4105: ['IPSET_ERR_INVALID_NETMASK', 'the netmask is invalid'],
  4106: ['IPSET_ERR_INVALID_FAMILY', 'protocol family not supported by the set type'],
  4107: ['IPSET_ERR_TIMEOUT', 'timeout extension not enabled: the set was created without timeout support'],
  4108: ['IPSET_ERR_REFERENCED', 'set is referenced and cannot be renamed or destroyed'],
  4109: ['IPSET_ERR_IPADDR_IPV4', 'an IPv4 address is expected'],
  4110: ['IPSET_ERR_IPADDR_IPV6', 'an IPv6 address is expected'],
  4111: ['IPSET_ERR_COUNTER', 'counters extension not enabled: the set was created without counters'],
  4112: ['IPSET_ERR_COMMENT', 'comment extension not enabled: the set was created without comment support'],
  4113: ['IPSET_ERR_INVALID_MARKMASK', 'the markmask is invalid'],
  4114: ['IPSET_ERR_SKBINFO', 'skbinfo extension not enabled: the set was created without skbinfo support'],
  4115: ['IPSET_ERR_BITMASK_NETMASK_EXCL', 'netmask and bitmask are mutually exclusive'],
};

const SPECIFIC: Record<Kind, [string, string][]> = {
  hash: [
    ['IPSET_ERR_HASH_FULL', 'set is full: hash has maxelem elements, cannot add more'],
    ['IPSET_ERR_HASH_ELEM', 'null-valued element, cannot be stored in a hash set'],
    ['IPSET_ERR_INVALID_PROTO', 'invalid protocol'],
    ['IPSET_ERR_MISSING_PROTO', 'protocol missing, but must be specified'],
    ['IPSET_ERR_HASH_RANGE_UNSUPPORTED', 'range is not supported in the "net" component of the element'],
    ['IPSET_ERR_HASH_RANGE', 'invalid range, covers the whole address space'],
  ],
  bitmap: [
    ['IPSET_ERR_BITMAP_RANGE', 'element is out of the range of the set'],
    ['IPSET_ERR_BITMAP_RANGE_SIZE', 'the range exceeds the size limit of the set type'],
  ],
  list: [
    ['IPSET_ERR_NAME', 'the set to be added/deleted/tested as element does not exist'],
    ['IPSET_ERR_LOOP', 'list:set sets cannot be added to a list:set'],
    ['IPSET_ERR_BEFORE', 'no reference set specified for before/after'],
    ['IPSET_ERR_NAMEREF', "the set referred to by 'before'/'after' does not exist"],
    ['IPSET_ERR_LIST_FULL', 'set is full: the list:set has no room for more elements'],
    ['IPSET_ERR_REF_EXIST', "the set referred to by 'before'/'after' is not in the list"],
  ],
};

/** Plain errnos whose meaning depends on the command. */
function errnoReason(errno: number, cmd: string): string | undefined {
  switch (errno) {
    case constants.errno.ENOENT:
      return cmd === 'create' ? 'set type or revision not supported' : 'the set does not exist';
    case constants.errno.EEXIST:
      return 'a set with the same name already exists (with different type or options)';
    case constants.errno.EBUSY:
      return 'set is busy (being listed or swapped)';
    case constants.errno.EINVAL:
      return 'invalid argument (rejected by the kernel attribute policy)';
    case constants.errno.ENOMEM:
      return 'out of memory (hashsize or range too big?)';
    case constants.errno.EPERM:
      return 'operation not permitted (CAP_NET_ADMIN needed)';
    case constants.errno.EOPNOTSUPP:
      return 'operation not supported';
    default:
      return undefined;
  }
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/** Describes an ipset error code: its symbolic name and ipset's meaning. */
export function describeError(code: number, cmd = '', kind?: Kind): {
  /** The symbolic name: `IPSET_ERR_EXIST`, `ENOENT`, ... */
  name: string;
  /** What ipset means by it, as the ipset command words it. */
  reason: string;
} {
  if (code >= IPSET_ERR.TYPE_SPECIFIC) {
    const i = code - IPSET_ERR.TYPE_SPECIFIC;
    const kinds: Kind[] = kind ? [kind] : ['hash', 'bitmap', 'list'];
    const found = kinds.map((k) => SPECIFIC[k][i]).filter((x): x is [string, string] => !!x);
    if (found.length === 1) return { name: found[0]![0], reason: found[0]![1] };
    if (found.length > 1) return { name: found.map((f) => f[0]).join('|'), reason: found.map((f) => f[1]).join(' / ') };
    return { name: `IPSET_ERR_TYPE_SPECIFIC+${i}`, reason: 'set-type specific error' };
  }
  const generic = GENERIC[code];
  if (generic) {
    if (code === IPSET_ERR.EXIST) {
      if (cmd === 'add') return { name: generic[0], reason: 'element already exists' };
      if (cmd === 'del' || cmd === 'delete') return { name: generic[0], reason: 'element is not in the set' };
    }
    if (code === IPSET_ERR.EXIST_SETNAME2) {
      if (cmd === 'rename') return { name: generic[0], reason: 'a set with the new name already exists' };
      if (cmd === 'swap') return { name: generic[0], reason: 'the second set does not exist' };
    }
    return { name: generic[0], reason: generic[1] };
  }
  if (code > 4096) return { name: `IPSET_ERR_${code}`, reason: 'unknown ipset error' };
  return { name: errnoName(code), reason: errnoReason(code, cmd) ?? `system error ${errnoName(code)}` };
}

/** Where an IPSetError happened: what IPSetError's constructor takes besides the code. */
export interface IPSetErrorDetails {
  /** The command that failed: 'add', 'create', 'list', ... */
  command?: string;
  /** The set the command was about. */
  setName?: string;
  /** Set-type family of the set, which selects the meaning of type-specific codes. */
  kind?: Kind;
  /** For addMany/restore: 0-based index of the entry (or 1-based line of the restore text) that failed. */
  index?: number;
  /** For restore: the 1-based line of the text that failed. */
  line?: number;
  /** The element that failed, as given. */
  entry?: unknown;
}

/** A kernel (or ipset protocol) error: `errno` is the positive code the kernel returned. */
export class IPSetError extends Error {
  /** The positive error code: an errno (2 = ENOENT) or an ipset code (4103 = IPSET_ERR_EXIST). */
  readonly errno: number;
  /** Same as errno, for pyroute2 users (NetlinkError.code). */
  readonly code: number;
  /** Symbolic name: 'IPSET_ERR_EXIST', 'ENOENT', ... */
  readonly errorName: string;
  /** ipset's meaning of the code, without context. */
  readonly reason: string;
  /** The command that failed: `add`, `create`, `list`, ... (as `ipset COMMAND`). */
  readonly command: string | undefined;
  /** The set the command was about, if any. */
  readonly setName: string | undefined;
  /** For addMany: the 0-based index of the entry that failed. */
  readonly index: number | undefined;
  /** For restore: the 1-based line of the text that failed. */
  readonly line: number | undefined;
  /** The element that failed, as given. */
  readonly entry: unknown;

  /** An error for a kernel code, worded as ipset words it for the command in `details`. */
  constructor(code: number, details: IPSetErrorDetails = {}, reasonOverride?: string) {
    const { name, reason } = describeError(code, details.command ?? '', details.kind);
    const r = reasonOverride ?? reason;
    const where = [details.command ? `ipset ${details.command}` : 'ipset', details.setName].filter(Boolean).join(' ');
    const at = details.line !== undefined ? ` (line ${details.line})` : details.index !== undefined ? ` (entry #${details.index})` : '';
    super(`${where}${at}: ${r} [${name} ${code}]`);
    this.name = 'IPSetError';
    this.errno = code;
    this.code = code;
    this.errorName = name;
    this.reason = r;
    this.command = details.command;
    this.setName = details.setName;
    this.index = details.index;
    this.line = details.line;
    this.entry = details.entry;
  }
}
