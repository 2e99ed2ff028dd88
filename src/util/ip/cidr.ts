// Relations between CIDRs and addresses: containment and a total order.

import { ADDRESS_BITS, type IpAddress } from './family.js';
import { type Cidr, prefixMask } from './parse.js';

/** The single-address block of an address (/32 or /128). */
export function hostCidr(ip: IpAddress): Cidr {
  return { family: ip.family, network: ip.value, prefix: ADDRESS_BITS[ip.family] };
}

export function containsIp(block: Cidr, ip: IpAddress): boolean {
  return block.family === ip.family && (ip.value & prefixMask(block.family, block.prefix)) === block.network;
}

/** True when `inner` lies inside `outer` (equal blocks included). */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    (inner.network & prefixMask(outer.family, outer.prefix)) === outer.network
  );
}

/** Total order: IPv4 before IPv6, then by network, then by prefix. */
export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}
