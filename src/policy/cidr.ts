// IPv4/IPv6 address and CIDR arithmetic on BigInt values.
// Kept local to the policy engine so its meaning of "inside a block" never depends on another module.
// Parsing is strict (no leading zeros in IPv4 octets, no zones, "::" must stand for at least one
// group) because anything we cannot read unambiguously must fail closed, not be guessed.

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

export interface Cidr {
  family: IpFamily;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
}

export interface ParsedCidr extends Cidr {
  /** True when the text had host bits set ("10.0.0.5/24"); `network` is already masked. */
  hostBitsSet: boolean;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function parseIpv4(s: string): bigint | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let value = 0n;
  for (const octet of m.slice(1)) {
    // Leading zeros are ambiguous (octal in some parsers); Go's parser rejects them too.
    if (octet.length > 1 && octet.startsWith('0')) return undefined;
    const n = Number(octet);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseGroups(groups: string[]): bigint[] | undefined {
  const out: bigint[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (i === groups.length - 1 && g.includes('.')) {
      const v4 = parseIpv4(g);
      if (v4 === undefined) return undefined;
      out.push(v4 >> 16n, v4 & 0xffffn);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
      out.push(BigInt(parseInt(g, 16)));
    } else {
      return undefined;
    }
  }
  return out;
}

function parseIpv6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  let groups: bigint[];
  if (halves.length === 2) {
    const [h, t] = halves as [string, string];
    const head = parseGroups(h === '' ? [] : h.split(':'));
    const tail = parseGroups(t === '' ? [] : t.split(':'));
    if (!head || !tail) return undefined;
    // An IPv4 suffix is only allowed at the very end.
    if (h.includes('.')) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<bigint>(missing).fill(0n), ...tail];
  } else {
    const all = parseGroups(s.split(':'));
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an address without prefix length. IPv4-mapped IPv6 text stays IPv6. */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

function mask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return (all >> BigInt(prefix)) ^ all;
}

/** Parses "addr/len". A bare address is not a CIDR. */
export function parseCidr(text: string): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!addr || !/^(0|[1-9]\d{0,2})$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  if (prefix > BITS[addr.family]) return undefined;
  const network = addr.value & mask(addr.family, prefix);
  return { family: addr.family, network, prefix, hostBitsSet: network !== addr.value };
}

/** The single-address block of an IP (/32 or /128). */
export function hostCidr(ip: IpAddress): Cidr {
  return { family: ip.family, network: ip.value, prefix: BITS[ip.family] };
}

export function containsIp(block: Cidr, ip: IpAddress): boolean {
  return block.family === ip.family && (ip.value & mask(block.family, block.prefix)) === block.network;
}

/** True when `inner` lies inside `outer` (equal blocks included). */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix >= outer.prefix &&
    (inner.network & mask(outer.family, outer.prefix)) === outer.network
  );
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const octets: number[] = [];
    for (let shift = 24n; shift >= 0n; shift -= 8n) octets.push(Number((ip.value >> shift) & 0xffn));
    return octets.join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((ip.value >> shift) & 0xffffn));
  // RFC 5952: compress the first longest run of two or more zero groups.
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

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.network })}/${c.prefix}`;
}

/**
 * Canonical text of an address ("fd00:0::1" -> "fd00::1"), or undefined when unparseable.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address, as Go (and so Multus) prints it,
 * so a pod address and a flow address compare equal whichever form they were written in.
 */
export function canonicalIpText(text: string): string | undefined {
  const ip = parseIp(text);
  if (!ip) return undefined;
  // ::ffff:0:0/96 — the upper 96 bits are 0...0ffff.
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) {
    return formatIp({ family: 4, value: ip.value & 0xffffffffn });
  }
  return formatIp(ip);
}

/** Total order: IPv4 before IPv6, then by network, then by prefix. */
export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}
