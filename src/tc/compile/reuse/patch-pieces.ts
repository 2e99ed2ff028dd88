// A port map's pieces after a change at single addresses, without partitioning every rule again:
// an update that replaces rules records the addresses they differ at (its ModelDelta),
// which are those of the changed pods.

import type { PortSet } from '../../../policy/types.js';
import { portSetKey } from '../../../policy/ports.js';
import { parseAddress, sortByAddress, type Piece } from '../../../util/ip/index.js';
import type { Family } from '../../../util/ip/index.js';

/** A changed address and what it is decided now (undefined: a gap). */
export interface PatchPoint {
  at: bigint;
  value: PortSet | undefined;
}

/**
 * The changed addresses (update-model's text form) of one family as points for patchPieces:
 * sorted, each once, with the value `valueAt` gives.
 */
export function patchPoints(
  at: Iterable<string>,
  family: Family,
  valueAt: (v: bigint) => PortSet | undefined,
): PatchPoint[] {
  const values: bigint[] = [];
  for (const ip of at) {
    const a = parseAddress(ip);
    if (a && a.family === family) values.push(a.value);
  }
  const sorted = sortByAddress(values, (v) => v);
  return sorted.filter((v, i) => i === 0 || sorted[i - 1] !== v).map((v) => ({ at: v, value: valueAt(v) }));
}

/**
 * `pieces` (what `partition` gave, sorted and merged) with single addresses decided again, as
 * `partition` would give them: a point with a value becomes a piece of its own, merged with
 * neighbours of equal ports; a point without one (no rule covers it) becomes a gap. Pieces away
 * from the points are kept as the same objects; none is changed.
 */
export function patchPieces(
  pieces: readonly Piece<PortSet>[],
  points: readonly PatchPoint[],
): Piece<PortSet>[] {
  const out: Piece<PortSet>[] = [];
  const push = (lo: bigint, hi: bigint, value: PortSet, same?: Piece<PortSet>) => {
    const last = out[out.length - 1];
    if (last && last.interval[1] + 1n === lo && portSetKey(last.value) === portSetKey(value)) {
      out[out.length - 1] = { interval: [last.interval[0], hi], value: last.value };
    } else {
      out.push(same ?? { interval: [lo, hi], value });
    }
  };
  let p = 0;
  // What is left of a piece a point split, if any.
  let rest: { lo: bigint; hi: bigint; value: PortSet } | undefined;
  for (const { at, value } of points) {
    for (;;) {
      const whole = rest ? undefined : pieces[p];
      const seg = rest ?? (whole && { lo: whole.interval[0], hi: whole.interval[1], value: whole.value });
      if (!seg || seg.lo > at) break;
      if (rest) rest = undefined;
      else p++;
      if (seg.hi < at) {
        push(seg.lo, seg.hi, seg.value, whole);
        continue;
      }
      if (seg.lo < at) push(seg.lo, at - 1n, seg.value);
      if (seg.hi > at) rest = { lo: at + 1n, hi: seg.hi, value: seg.value };
      break;
    }
    if (value) push(at, at, value);
  }
  if (rest) push(rest.lo, rest.hi, rest.value);
  for (; p < pieces.length; p++)
    push(pieces[p]!.interval[0], pieces[p]!.interval[1], pieces[p]!.value, pieces[p]);
  return out;
}
