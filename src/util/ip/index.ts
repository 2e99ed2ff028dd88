// The IP library: one family type, one strictness rule for reading, one way of writing, and the
// interval arithmetic the compiler sweeps with. Import from here.

export { ADDRESS_BITS, type Family, type IpAddress } from './family.js';
export {
  type Cidr,
  type ParsedCidr,
  parseAddress,
  parseAddressOrCidr,
  parseCidr,
  parseIpv4Number,
  prefixMask,
} from './parse.js';
export { type CanonicalIp, canonicalIp, formatAddress, formatCidr } from './format.js';
export { compareCidr, containsCidr, containsIp, hostCidr } from './cidr.js';
export {
  FULL_SPACE,
  findInterval,
  type Interval,
  intervalToCidrs,
  MAX_EXACT,
  normalizeIntervals,
  parseCidrInterval,
  sortByAddress,
  subtractIntervals,
} from './intervals.js';
export { type Contribution, partition, type Piece } from './partition.js';
