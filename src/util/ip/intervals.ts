// Address ranges as inclusive bigint intervals: from CIDR text, back to a minimal CIDR cover,
// merged, subtracted, sorted and searched. The compiler's address sweeps are built on these.

import { ADDRESS_BITS, type Family } from './family.js';
import { formatAddress } from './format.js';
import { parseAddressOrCidr } from './parse.js';

export type Interval = [bigint, bigint];

/**
 * The interval of "addr/len" or of a bare address (a host prefix, as tc writes it); host bits are
 * cleared. Strict as parseCidr.
 */
export function parseCidrInterval(text: string): { family: Family; interval: Interval } | undefined {
  const c = parseAddressOrCidr(text);
  if (!c) return undefined;
  const size = 1n << BigInt(ADDRESS_BITS[c.family] - c.prefix);
  return { family: c.family, interval: [c.network, c.network + size - 1n] };
}

/** Minimal list of CIDRs covering exactly [lo, hi]. */
export function intervalToCidrs([lo, hi]: Interval, family: Family): string[] {
  const bits = ADDRESS_BITS[family];
  const out: string[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 0;
    // Grow the block while it stays aligned and inside the interval.
    while (size < bits) {
      const next = 1n << BigInt(size + 1);
      if (cur % next !== 0n || cur + next - 1n > hi) break;
      size++;
    }
    out.push(`${formatAddress(cur, family)}/${bits - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}

/** Sort and merge overlapping or adjacent intervals. */
export function normalizeIntervals(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Interval[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

/** `base` minus every interval in `holes`: one sweep over both, sorted (linear in their sizes). */
export function subtractIntervals(base: Interval[], holes: Interval[]): Interval[] {
  const hs = normalizeIntervals(holes);
  const out: Interval[] = [];
  let h = 0;
  for (const [blo, bhi] of normalizeIntervals(base)) {
    let lo = blo;
    // Holes that end before this interval cannot touch it or any later one.
    while (h < hs.length && hs[h]![1] < lo) h++;
    let k = h;
    while (k < hs.length && hs[k]![0] <= bhi && lo <= bhi) {
      const [hlo, hhi] = hs[k]!;
      if (hlo > lo) out.push([lo, hlo - 1n]);
      if (hhi >= lo) lo = hhi + 1n;
      k++;
    }
    if (lo <= bhi) out.push([lo, bhi]);
  }
  return out;
}

/** The largest BigInt that a Number holds exactly (every IPv4 address is below it). */
export const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * `items` sorted by an address, stably. While every address is below 2^53 (all of IPv4) they are
 * compared as plain numbers, much cheaper than BigInts.
 */
export function sortByAddress<T>(items: readonly T[], at: (item: T) => bigint): T[] {
  if (!items.every((x) => at(x) <= MAX_EXACT)) {
    return [...items].sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0));
  }
  return items
    .map((item) => ({ n: Number(at(item)), item }))
    .sort((a, b) => a.n - b.n)
    .map((x) => x.item);
}

export const FULL_SPACE: Record<Family, Interval> = {
  4: [0n, (1n << 32n) - 1n],
  6: [0n, (1n << 128n) - 1n],
};

/** Index of the item whose interval holds `v` (items sorted and disjoint), or -1: a binary search. */
export function findInterval<T>(items: readonly T[], v: bigint, interval: (item: T) => Interval): number {
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = interval(items[mid]!);
    if (v < a) hi = mid - 1;
    else if (v > b) lo = mid + 1;
    else return mid;
  }
  return -1;
}
