// Address arithmetic for the compiler: CIDRs as inclusive bigint intervals, a sweep that splits
// the address space into pieces with one decision each, and the minimal CIDR cover of a piece.
// Pieces are disjoint, so the filters rendered from them need no ordering among themselves.

import type { Family } from './encapsulation.js';

export type Interval = [bigint, bigint];

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseIpv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(s: string): bigint | undefined {
  let head = s;
  let tailV4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    tailV4 = parseIpv4(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (halves.length === 1 && left.length !== 8) return undefined;
  if (halves.length === 2 && groups < 1) return undefined;
  const all = [...left, ...Array<string>(groups).fill('0'), ...right];
  let v = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

export function parseAddress(s: string): { family: Family; value: bigint } | undefined {
  if (s.includes(':')) {
    const v = parseIpv6(s);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIpv4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** "10.0.0.0/8" -> interval. A bare address is a host prefix. Host bits are cleared. */
export function parseCidrInterval(cidr: string): { family: Family; interval: Interval } | undefined {
  const [addr, len] = cidr.split('/');
  if (addr === undefined) return undefined;
  const a = parseAddress(addr);
  if (!a) return undefined;
  const bits = BITS[a.family];
  const prefix = len === undefined ? bits : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (len !== undefined && !/^\d+$/.test(len))) {
    return undefined;
  }
  const hostBits = BigInt(bits - prefix);
  const lo = (a.value >> hostBits) << hostBits;
  const hi = lo + (1n << hostBits) - 1n;
  return { family: a.family, interval: [lo, hi] };
}

export function formatAddress(v: bigint, family: Family): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((v >> s) & 255n).toString()).join('.');
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Minimal list of CIDRs covering exactly [lo, hi]. */
export function intervalToCidrs([lo, hi]: Interval, family: Family): string[] {
  const bits = BITS[family];
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

export interface Contribution<V> {
  intervals: Interval[];
  value: V;
}

export interface Piece<V> {
  interval: Interval;
  value: V;
}

/**
 * Split the address space by every contribution boundary; each elementary piece gets the
 * combination of the values covering it. Adjacent pieces with equal combined values are merged,
 * and pieces covered by nothing are left out.
 */
export function partition<V>(
  contributions: Contribution<V>[],
  combine: (values: V[]) => V,
  key: (v: V) => string,
): Piece<V>[] {
  // Group by value first: the number of distinct values is small even when intervals are many.
  const groups = new Map<string, { value: V; intervals: Interval[] }>();
  for (const c of contributions) {
    const k = key(c.value);
    const g = groups.get(k) ?? { value: c.value, intervals: [] };
    for (const iv of c.intervals) g.intervals.push(iv);
    groups.set(k, g);
  }
  const keys = [...groups.keys()].sort();
  type Event = { at: bigint; group: number; delta: 1 | -1 };
  const unsorted: Event[] = [];
  keys.forEach((k, gi) => {
    for (const [lo, hi] of normalizeIntervals(groups.get(k)!.intervals)) {
      unsorted.push({ at: lo, group: gi, delta: 1 }, { at: hi + 1n, group: gi, delta: -1 });
    }
  });
  const events = sortByAddress(unsorted, (e) => e.at);
  const active = new Array<number>(keys.length).fill(0);
  const memo = new Map<string, V>();
  const pieces: Piece<V>[] = [];
  let i = 0;
  while (i < events.length) {
    const at = events[i]!.at;
    while (i < events.length && events[i]!.at === at) {
      active[events[i]!.group]! += events[i]!.delta;
      i++;
    }
    if (i >= events.length) break;
    const end = events[i]!.at - 1n;
    const live = keys.filter((_, gi) => active[gi]! > 0);
    if (live.length === 0) continue;
    const sig = live.join('\u0000');
    let v = memo.get(sig);
    if (v === undefined) {
      v = combine(live.map((k) => groups.get(k)!.value));
      memo.set(sig, v);
    }
    const last = pieces[pieces.length - 1];
    if (last && last.interval[1] + 1n === at && key(last.value) === key(v)) {
      last.interval[1] = end;
    } else {
      pieces.push({ interval: [at, end], value: v });
    }
  }
  return pieces;
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
