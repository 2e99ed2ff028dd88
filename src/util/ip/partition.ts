// The sweep that splits the address space into pieces with one decision each. Pieces are
// disjoint, so the filters rendered from them need no ordering among themselves.

import { type Interval, normalizeIntervals, sortByAddress } from './intervals.js';

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
