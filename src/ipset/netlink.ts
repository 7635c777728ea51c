// ipset talks over the shared NETLINK_NETFILTER socket (src/netlink).
export { NetlinkSocket, type NlMessage } from '../netlink/socket.js';
export { NetlinkKernelError, NetlinkSocketError } from '../netlink/errors.js';
