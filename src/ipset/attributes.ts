// ipset encodes and decodes attributes with the shared netlink codec (src/netlink).
export { NlaTable, NlaWriter, forEachAttr, readStr } from '../netlink/attributes.js';
