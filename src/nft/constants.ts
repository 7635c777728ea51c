// Numbers of the nf_tables netlink protocol (<linux/netfilter/nf_tables.h>, nf_tables_compat.h), checked
// against the uapi header of Linux 6.1 and, for GETRULE_RESET, against 6.18. Expression attributes live
// with their expression under expr/.
import { NFNL_SUBSYS_NFT_COMPAT, NFNL_SUBSYS_NFTABLES } from '../netlink/constants.js';

/** nfgenmsg.nfgen_family of the tables iptables and ip6tables use. */
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;
export type NftFamily = typeof NFPROTO_IPV4 | typeof NFPROTO_IPV6;

/** enum nf_tables_msg_types. */
export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  DELCHAIN: 5,
  NEWRULE: 6,
  GETRULE: 7,
  DELRULE: 8,
  NEWSET: 9,
  GETSET: 10,
  DELSET: 11,
  NEWSETELEM: 12,
  GETSETELEM: 13,
  DELSETELEM: 14,
  NEWGEN: 15,
  GETGEN: 16,
  /** Dumps rules and zeroes their counters in the same pass (Linux 6.2+; absent from 6.1's header). */
  GETRULE_RESET: 25,
} as const;

/** The message type of an nf_tables message: subsystem in the high byte. */
export const nftType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

/** NFNL_MSG_COMPAT_GET: asks nft_compat whether an xtables extension revision exists. */
export const NFNL_MSG_COMPAT_GET = (NFNL_SUBSYS_NFT_COMPAT << 8) | 0;
/** enum nft_compat attributes of COMPAT_GET. */
export const NFTA_COMPAT = { NAME: 1, REV: 2, TYPE: 3 } as const;

export const NFTA_TABLE = { NAME: 1, FLAGS: 2, USE: 3, HANDLE: 4, USERDATA: 6, OWNER: 7 } as const;
/** enum nft_table_flags. */
export const NFT_TABLE_F = { DORMANT: 1, OWNER: 2 } as const;

export const NFTA_CHAIN = {
  TABLE: 1,
  HANDLE: 2,
  NAME: 3,
  HOOK: 4,
  POLICY: 5,
  USE: 6,
  TYPE: 7,
  COUNTERS: 8,
  FLAGS: 10,
  ID: 11,
  USERDATA: 12,
} as const;
export const NFTA_HOOK = { HOOKNUM: 1, PRIORITY: 2 } as const;
/** NFTA_CHAIN_COUNTERS nest: BYTES comes first, swapping them gives wrong values, not an error. */
export const NFTA_COUNTER = { BYTES: 1, PACKETS: 2 } as const;
/** enum nft_chain_flags. */
export const NFT_CHAIN_F = { BASE: 1 } as const;

export const NFTA_RULE = {
  TABLE: 1,
  CHAIN: 2,
  HANDLE: 3,
  EXPRESSIONS: 4,
  COMPAT: 5,
  POSITION: 6,
  USERDATA: 7,
  ID: 9,
  POSITION_ID: 10,
} as const;
export const NFTA_RULE_COMPAT = { PROTO: 1, FLAGS: 2 } as const;
/** NFT_RULE_COMPAT_F_INV: the protocol is inverted (`! -p tcp`). */
export const NFT_RULE_COMPAT_F_INV = 2;

export const NFTA_GEN = { ID: 1, PROC_PID: 2, PROC_NAME: 3 } as const;

export const NFTA_LIST_ELEM = 1;
export const NFTA_EXPR = { NAME: 1, DATA: 2 } as const;
export const NFTA_DATA = { VALUE: 1, VERDICT: 2 } as const;
export const NFTA_VERDICT = { CODE: 1, CHAIN: 2 } as const;

/** Verdict codes (NF_DROP/NF_ACCEPT and enum nft_verdicts). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NF_QUEUE = 3;
export const NFT_CONTINUE = -1;
export const NFT_BREAK = -2;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const NFT_RETURN = -5;

/** Registers: 0 holds the verdict, 1-4 are 16 bytes wide, 8-23 the 4-byte NFT_REG32_00..15. */
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG32_00 = 8;
export const NFT_REG32_01 = 9;

/** Netfilter hooks of the ip/ip6 families (enum nf_inet_hooks). */
export const NF_INET = { PRE_ROUTING: 0, LOCAL_IN: 1, FORWARD: 2, LOCAL_OUT: 3, POST_ROUTING: 4 } as const;

/** NFTA_RULE_USERDATA records iptables-nft reads (enum udata_type in iptables' nft.c). */
export const UDATA_TYPE_COMMENT = 0;

/** ERESTART: the kernel refused a batch because the ruleset generation moved since GENID was read. */
export const ERESTART = 85;
