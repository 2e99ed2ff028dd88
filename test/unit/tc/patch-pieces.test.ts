import { expect } from 'chai';
import fc from 'fast-check';
import { partition, type Contribution, type Interval } from '../../../src/util/ip/index.js';
import { patchPieces } from '../../../src/tc/compile/reuse/patch-pieces.js';
import { NO_PORTS, portSetUnion } from '../../../src/tc/compile/decisions/rule-ports.js';
import { portSetKey } from '../../../src/policy/ports.js';
import type { PortSet } from '../../../src/policy/types.js';

const ports = (n: number): PortSet => (n === 0 ? NO_PORTS : { all: false, TCP: [[n, n]], UDP: [], SCTP: [] });
const interval = fc
  .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 6 }))
  .map(([lo, len]): Interval => [BigInt(lo), BigInt(lo + len)]);
const contribution = fc
  .tuple(fc.array(interval, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 3 }))
  .map(([intervals, p]): Contribution<PortSet> => ({ intervals, value: ports(p) }));

const pieces = (cs: Contribution<PortSet>[]) =>
  partition(cs, (vs) => vs.reduce(portSetUnion, NO_PORTS), portSetKey);
const shape = (ps: { interval: Interval; value: PortSet }[]) =>
  ps.map((p) => `${p.interval[0]}-${p.interval[1]}:${portSetKey(p.value)}`);

describe('patchPieces', () => {
  it('gives what partition gives after the contributions change at single addresses', () => {
    fc.assert(
      fc.property(
        fc.array(contribution, { maxLength: 6 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 48 }), { maxLength: 5 }),
        fc.array(contribution, { maxLength: 2 }),
        (before, points, added) => {
          // The change: every point is taken out of the old contributions, and the added
          // contributions (single points among `points`) come in.
          const at = new Set(points.map(BigInt));
          const cut = (iv: Interval): Interval[] => {
            const out: Interval[] = [];
            let lo = iv[0];
            for (let v = iv[0]; v <= iv[1]; v++) {
              if (at.has(v)) {
                if (lo < v) out.push([lo, v - 1n]);
                lo = v + 1n;
              }
            }
            if (lo <= iv[1]) out.push([lo, iv[1]]);
            return out;
          };
          const after: Contribution<PortSet>[] = before.map((c) => ({
            intervals: c.intervals.flatMap(cut),
            value: c.value,
          }));
          const sorted = [...at].sort((a, b) => (a < b ? -1 : 1));
          added.forEach((c, i) => {
            const p = sorted[i % Math.max(1, sorted.length)];
            if (p !== undefined) after.push({ intervals: [[p, p]], value: c.value });
          });
          // Half the points keep what they had, so unchanged points are patched too.
          for (const p of sorted.filter((_, i) => i % 2 === 1)) {
            for (const c of before) {
              if (c.intervals.some(([lo, hi]) => lo <= p && p <= hi))
                after.push({ intervals: [[p, p]], value: c.value });
            }
          }
          const want = pieces(after);
          const valueAt = (v: bigint) => want.find((w) => w.interval[0] <= v && v <= w.interval[1])?.value;
          const old = pieces(before);
          const frozen = JSON.stringify(shape(old));
          const got = patchPieces(
            old,
            sorted.map((v) => ({ at: v, value: valueAt(v) })),
          );
          expect(shape(got)).to.deep.equal(shape(want));
          expect(JSON.stringify(shape(old))).to.equal(frozen);
        },
      ),
      { numRuns: 5000, seed: 1123 },
    );
  });
});
