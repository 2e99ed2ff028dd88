// Writing addresses: IPv4 as a dotted quad, IPv6 as RFC 5952 (lower case, no leading zeros, the
// first longest run of two or more zero groups written "::"). Everything that writes an address
// goes through here, so two writers of one address always write the same text.

import type { Cidr } from './parse.js';
import { parseAddress } from './parse.js';
import type { Family } from './family.js';

function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The text of an address value. */
export function formatAddress(value: bigint, family: Family): string {
  if (family === 6) return formatIpv6(value);
  const n = Number(value);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.network, c.family)}/${c.prefix}`;
}

export interface CanonicalIp {
  ip: string;
  family: Family;
}

/**
 * The canonical text and family of an address ("fd00:0::1" -> "fd00::1"), or undefined when it is
 * not one. IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address, as Go (and so Multus, which
 * writes network-status) prints it, so a pod address and a flow address compare equal as text
 * whichever form they were written in.
 */
export function canonicalIp(text: string): CanonicalIp | undefined {
  const addr = parseAddress(text);
  if (!addr) return undefined;
  if (addr.family === 6 && addr.value >> 32n === 0xffffn) {
    return { ip: formatAddress(addr.value & 0xffffffffn, 4), family: 4 };
  }
  return { ip: formatAddress(addr.value, addr.family), family: addr.family };
}
