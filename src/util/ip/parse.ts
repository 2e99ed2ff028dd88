// Reading address and CIDR text. One strictness rule for every caller: text is accepted only when
// it has a single meaning. IPv4 is four decimal octets without leading zeros ("010" is octal to
// some parsers, decimal to others; Go rejects it since 1.17); IPv6 is hex groups with at most one
// "::" standing for at least one group, a dotted IPv4 tail only at the end, and no zone id; a
// prefix length is decimal without leading zeros. No whitespace anywhere. A policy's text that is
// refused here fails closed where it is read (normalize-peers.ts): it never widens access.

import { ADDRESS_BITS, type Family, type IpAddress } from './family.js';

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
}

export interface ParsedCidr extends Cidr {
  /** True when the text had host bits set ("10.0.0.5/24"); `network` is already masked. */
  hostBitsSet: boolean;
}

/**
 * The value of strict IPv4 text, as a Number (no BigInt: reading thousands of pod addresses
 * would be dominated by BigInt garbage), or undefined.
 */
export function parseIpv4Number(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return undefined; // a leading zero
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : undefined;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The 16-bit groups of one side of "::"; the last may be dotted IPv4 when `ipv4Tail`. */
function parseGroups(side: string, ipv4Tail: boolean): number[] | undefined {
  if (side === '') return [];
  const parts = side.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (ipv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4Number(part);
      if (v4 === undefined) return undefined;
      groups.push(Math.floor(v4 / 0x10000), v4 % 0x10000);
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 1) {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  } else {
    const head = parseGroups(halves[0]!, false);
    const tail = parseGroups(halves[1]!, true);
    if (!head || !tail) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined; // "::" stands for at least one group
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** An address without prefix length. IPv4-mapped IPv6 text stays IPv6 (see canonicalIp). */
export function parseAddress(text: string): IpAddress | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const v4 = parseIpv4Number(text);
  return v4 === undefined ? undefined : { family: 4, value: BigInt(v4) };
}

const PREFIX_LENGTH = /^(0|[1-9]\d{0,2})$/;

/** The prefix length after the slash, when it is strict and fits the family. */
function parsePrefixLength(text: string, family: Family): number | undefined {
  if (!PREFIX_LENGTH.test(text)) return undefined;
  const prefix = Number(text);
  return prefix <= ADDRESS_BITS[family] ? prefix : undefined;
}

/** The mask of a prefix length: its leading `prefix` bits set. */
export function prefixMask(family: Family, prefix: number): bigint {
  const all = (1n << BigInt(ADDRESS_BITS[family])) - 1n;
  return (all >> BigInt(prefix)) ^ all;
}

/** "addr/len". A bare address is not a CIDR (an ipBlock's cidr must have its length). */
export function parseCidr(text: string): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddress(text.slice(0, slash));
  if (!addr) return undefined;
  const prefix = parsePrefixLength(text.slice(slash + 1), addr.family);
  if (prefix === undefined) return undefined;
  const network = addr.value & prefixMask(addr.family, prefix);
  return { family: addr.family, network, prefix, hostBitsSet: network !== addr.value };
}

/**
 * tc's notation for a flower address match: "addr/len", or a bare address for a host prefix (tc
 * prints a full-length match without its length). Same strictness as parseCidr.
 */
export function parseAddressOrCidr(text: string): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes('/')) return parseCidr(text);
  const addr = parseAddress(text);
  if (!addr) return undefined;
  return { family: addr.family, network: addr.value, prefix: ADDRESS_BITS[addr.family], hostBitsSet: false };
}
