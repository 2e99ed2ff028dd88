// Canonical text form of an IP address, so addresses from different writers compare as strings.
// IPv4: dotted quad without leading zeros. IPv6: RFC 5952 (lower case, no leading zeros, the
// longest run of two or more zero groups compressed to "::"). IPv4-mapped IPv6 (::ffff:a.b.c.d)
// becomes the IPv4 address, as Go's net.IP.String() prints it (and Multus writes network-status with Go).

export interface CanonicalIp {
  ip: string;
  family: 4 | 6;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses a dotted-quad IPv4 address into 4 octets; leading zeros are rejected (they are ambiguous). */
function parseIpv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets;
}

/** Parses the hex groups on one side of "::" (the last may be a dotted IPv4 when allowed). */
function parseGroups(s: string, allowIpv4Tail: boolean): number[] | undefined {
  if (s === '') return [];
  const parts = s.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (allowIpv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (!v4) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!HEX_GROUP.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/** Parses an IPv6 address into 8 16-bit groups. Zone ids ("%eth0") are rejected. */
function parseIpv6(s: string): number[] | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  if (halves.length === 1) {
    const groups = parseGroups(s, true);
    return groups && groups.length === 8 ? groups : undefined;
  }
  const head = parseGroups(halves[0] ?? '', false);
  const tail = parseGroups(halves[1] ?? '', true);
  if (!head || !tail) return undefined;
  // "::" stands for at least one zero group.
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function formatIpv6(groups: number[]): string {
  // Find the longest run (length >= 2) of zero groups; the first one wins a tie.
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

function isIpv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
}

/** Canonical form and family of an IP address (no prefix length), or undefined if it is not one. */
export function canonicalIp(s: string): CanonicalIp | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const groups = parseIpv6(s);
    if (!groups) return undefined;
    if (isIpv4Mapped(groups)) {
      const [hi = 0, lo = 0] = groups.slice(6);
      return { ip: `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`, family: 4 };
    }
    return { ip: formatIpv6(groups), family: 6 };
  }
  const octets = parseIpv4(s);
  return octets ? { ip: octets.join('.'), family: 4 } : undefined;
}
