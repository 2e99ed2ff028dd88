// Single-address decisions (one pod address each) kept in address order, and read as pieces.

import { portSetUnion } from './rule-ports.js';
import { portSetEquals } from '../../../policy/ports.js';
import type { PortSet } from '../../../policy/types.js';
import { type Contribution, type Piece, sortByAddress } from '../../../util/ip/index.js';

/** The address of a single-address decision (its one interval is [address, address]). */
export function pointAddress<V>(c: Contribution<V>): bigint {
  return c.intervals[0]![0];
}

/** Single-address decisions in address order. */
export function sortPoints<V>(points: Contribution<V>[]): Contribution<V>[] {
  return sortByAddress(points, pointAddress);
}

/** Where `v` goes in address-sorted single-address decisions: after those at `v` or below. */
export function upperBound(list: Contribution<PortSet>[], v: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pointAddress(list[mid]!) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Single-address decisions (in address order) as pieces: what `partition` gives for them
 * (neighbouring addresses with equal ports merged, one address listed twice gets the union),
 * without its sweep.
 */
export function pointPieces(sorted: Contribution<PortSet>[]): Piece<PortSet>[] {
  const out: Piece<PortSet>[] = [];
  let last: Piece<PortSet> | undefined;
  for (let i = 0; i < sorted.length;) {
    // An address listed more than once gets what all its entries allow.
    const at = pointAddress(sorted[i]!);
    let value = sorted[i++]!.value;
    while (i < sorted.length && pointAddress(sorted[i]!) === at)
      value = portSetUnion(value, sorted[i++]!.value);
    if (last && last.interval[1] + 1n === at && portSetEquals(last.value, value)) last.interval[1] = at;
    else out.push((last = { interval: [at, at], value }));
  }
  return out;
}
