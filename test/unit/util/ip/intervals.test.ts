import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { subtractIntervals, type Interval } from '../../../../src/util/ip/index.js';

const interval = fc
  .tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 8 }))
  .map(([lo, len]): Interval => [BigInt(lo), BigInt(Math.min(63, lo + len))]);

const covers = (list: Interval[], v: bigint) => list.some(([lo, hi]) => lo <= v && v <= hi);

describe('util/ip: subtractIntervals', () => {
  it('keeps exactly the addresses of base outside every hole, as sorted, disjoint, merged intervals', () => {
    fc.assert(
      fc.property(
        fc.array(interval, { maxLength: 8 }),
        fc.array(interval, { maxLength: 12 }),
        (base, holes) => {
          const out = subtractIntervals(base, holes);
          for (let v = 0n; v < 64n; v++)
            expect(covers(out, v)).to.equal(covers(base, v) && !covers(holes, v));
          for (let i = 1; i < out.length; i++) expect(out[i]![0] > out[i - 1]![1] + 1n).to.equal(true);
          for (const [lo, hi] of out) expect(lo <= hi).to.equal(true);
        },
      ),
      { numRuns: 3000, seed: 1123 },
    );
  });
});
