// ipset talks over the shared NETLINK_NETFILTER socket (src/netlink).
export { NetlinkSocket, type NlMessage, type SocketFactory } from '../netlink/socket.js';
export { NetlinkKernelError, NetlinkSocketError } from '../netlink/errors.js';
