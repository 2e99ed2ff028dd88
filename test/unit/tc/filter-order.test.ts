// Ordering filters by prio (src/tc/compile/chains/chain-set.ts) against a plain stable sort: the compiler relies
// on ties keeping its own order (filters sharing a prio are written in address order).

import { expect } from 'chai';
import fc from 'fast-check';
import { mergeByPrio, mergeRuns, sortFilters } from '../../../src/tc/compile/chains/chain-set.js';

interface Item {
  prio: number;
  id: number;
}

const items = fc
  .array(fc.integer({ min: 1, max: 12 }), { maxLength: 40 })
  .map((ps) => ps.map((prio, id): Item => ({ prio, id })));

/** Array.prototype.sort is stable (ES2019). */
const stableSort = (list: Item[]) => [...list].sort((x, y) => x.prio - y.prio);

describe('filter order', () => {
  it('sortFilters is a stable sort by prio', () => {
    fc.assert(
      fc.property(items, (list) => {
        expect(sortFilters(list)).to.deep.equal(stableSort(list));
      }),
      { numRuns: 3000, seed: 1124 },
    );
  });

  it('mergeByPrio of two sorted lists is the stable sort of the first then the second', () => {
    fc.assert(
      fc.property(items, items, (x, y) => {
        const a = stableSort(x);
        const b = stableSort(y).map((i) => ({ ...i, id: i.id + 100 }));
        expect(mergeByPrio(a, b)).to.deep.equal(stableSort([...a, ...b]));
      }),
      { numRuns: 3000, seed: 1124 },
    );
  });

  it('mergeRuns of sorted runs is the stable sort of them one after the other', () => {
    fc.assert(
      fc.property(fc.array(items, { maxLength: 4 }), fc.boolean(), (lists, ordered) => {
        // Runs in prio bands one after the other (the copy path), or overlapping (the merge path).
        const runs = lists.map((l, r) =>
          stableSort(l).map((i) => ({ prio: ordered ? i.prio + 20 * r : i.prio, id: i.id + 100 * r })),
        );
        expect(mergeRuns(runs)).to.deep.equal(stableSort(runs.flat()));
      }),
      { numRuns: 3000, seed: 1124 },
    );
  });
});
