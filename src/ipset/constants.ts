// Numbers of the ipset netlink protocol (linux/netfilter/ipset/ip_set.h). Kept in one place so the
// codec, the commands and the error table agree on them.

export const AF_NETLINK = 16;
export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_IPSET = 6;

/** The protocol this library speaks; GET_BYNAME/GET_BYINDEX require exactly 7. */
export const IPSET_PROTOCOL = 7;
export const IPSET_PROTOCOL_MIN = 6;
export const IPSET_MAXNAMELEN = 32;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_DUMP_INTR = 0x10;

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

export const Cmd = {
  PROTOCOL: 1,
  CREATE: 2,
  DESTROY: 3,
  FLUSH: 4,
  RENAME: 5,
  SWAP: 6,
  LIST: 7,
  SAVE: 8,
  ADD: 9,
  DEL: 10,
  TEST: 11,
  HEADER: 12,
  TYPE: 13,
  GET_BYNAME: 14,
  GET_BYINDEX: 15,
} as const;

/** Command-level attributes. */
export const Attr = {
  PROTOCOL: 1,
  SETNAME: 2,
  TYPENAME: 3,
  SETNAME2: 3,
  REVISION: 4,
  FAMILY: 5,
  FLAGS: 6,
  DATA: 7,
  ADT: 8,
  LINENO: 9,
  PROTOCOL_MIN: 10,
  REVISION_MIN: 10,
  INDEX: 11,
} as const;

/** Attributes inside DATA, for create (header) and for add/del/test (elements). */
export const DataAttr = {
  IP: 1,
  IP_TO: 2,
  CIDR: 3,
  PORT: 4,
  PORT_TO: 5,
  TIMEOUT: 6,
  PROTO: 7,
  CADT_FLAGS: 8,
  CADT_LINENO: 9,
  MARK: 10,
  MARKMASK: 11,
  BITMASK: 12,
  // create/header only
  INITVAL: 17,
  HASHSIZE: 18,
  MAXELEM: 19,
  NETMASK: 20,
  BUCKETSIZE: 21,
  RESIZE: 22,
  SIZE: 23,
  ELEMENTS: 24,
  REFERENCES: 25,
  MEMSIZE: 26,
  // element only (share numbers with the create-only ones above)
  ETHER: 17,
  NAME: 18,
  NAMEREF: 19,
  IP2: 20,
  CIDR2: 21,
  IP2_TO: 22,
  IFACE: 23,
  BYTES: 24,
  PACKETS: 25,
  COMMENT: 26,
  SKBMARK: 27,
  SKBPRIO: 28,
  SKBQUEUE: 29,
  PAD: 30,
} as const;

export const IPADDR_IPV4 = 1;
export const IPADDR_IPV6 = 2;

/** CADT_FLAGS bits of elements. */
export const ElemFlag = { BEFORE: 1, PHYSDEV: 2, NOMATCH: 4, WILDCARD: 0x80 } as const;
/** CADT_FLAGS bits of set headers. */
export const CreateFlag = { COUNTERS: 0x08, COMMENT: 0x10, FORCEADD: 0x20, SKBINFO: 0x40 } as const;
/** FLAGS of LIST/SAVE requests. */
export const ListFlag = { SETNAME: 2, HEADER: 4 } as const;

export const NFPROTO_UNSPEC = 0;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

/** The kernel clamps timeouts to this many seconds (UINT_MAX / MSEC_PER_SEC / 2). */
export const IPSET_MAX_TIMEOUT = 2147483;
export const IPSET_MAX_COMMENT_SIZE = 255;
