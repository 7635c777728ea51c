// Numbers of the netlink and nfnetlink protocols (linux/netlink.h, linux/netfilter/nfnetlink.h) that
// every NETLINK_NETFILTER user shares: ipset and nf_tables.

export const AF_NETLINK = 16;
export const NETLINK_NETFILTER = 12;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
/** GET requests. */
export const NLM_F_DUMP = 0x300;
/** NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** DEL requests. */
export const NLM_F_NONREC = 0x100;
/** Flags of an NLMSG_ERROR reply: the echo holds only the header; extended-ack TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

export const SOL_NETLINK = 270;
export const NETLINK_EXT_ACK = 11;

/** Extended-ack attributes of an NLMSG_ERROR reply (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** nfnetlink subsystems (the high byte of a message type). */
export const NFNL_SUBSYS_IPSET = 6;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_SUBSYS_NFT_COMPAT = 11;

/** Batch delimiters: plain message types, the subsystem goes in nfgenmsg.res_id. */
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
/** Attribute of BATCH_BEGIN: the ruleset generation the batch was built on (enum nfnl_batch_attributes). */
export const NFNL_BATCH_GENID = 1;

/** The nfgenmsg header that follows every nlmsghdr: 16 + 4 bytes before the attributes. */
export const NFGENMSG_END = 20;
