import { expect } from 'chai';
import fc from 'fast-check';
import { LayeredMap, MapDraft } from '../../../src/util/layered-map.js';

describe('LayeredMap and MapDraft', () => {
  it('read like a plain map after any sequence of edits, and never change the map they start from', () => {
    const op = fc.tuple(fc.constantFrom('set', 'delete'), fc.integer({ min: 0, max: 40 }), fc.integer());
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 30 }), { maxLength: 12 }), (rounds) => {
        let layered: ReadonlyMap<number, number> = new Map([
          [1, 1],
          [2, 2],
        ]);
        const plain = new Map(layered);
        for (const ops of rounds) {
          const before = [...layered.entries()];
          const draft = new MapDraft(layered);
          for (const [kind, k, v] of ops) {
            if (kind === 'set') {
              draft.set(k, v);
              plain.set(k, v);
            } else {
              draft.delete(k);
              plain.delete(k);
            }
            expect(draft.get(k)).to.equal(plain.get(k));
            expect(draft.has(k)).to.equal(plain.has(k));
          }
          const next = draft.finish();
          expect([...layered.entries()], 'the older map is unchanged').to.deep.equal(before);
          layered = next;
          expect(layered.size).to.equal(plain.size);
          expect(new Map(layered)).to.deep.equal(plain);
          for (let k = 0; k <= 40; k++) {
            expect(layered.get(k)).to.equal(plain.get(k));
            expect(layered.has(k)).to.equal(plain.has(k));
          }
          expect([...layered.keys()].sort((a, b) => a - b)).to.deep.equal(
            [...plain.keys()].sort((a, b) => a - b),
          );
        }
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('keeps a few changes as a layer over the old map and flattens many', () => {
    const big = new Map(Array.from({ length: 1000 }, (_, i) => [i, i] as [number, number]));
    const few = LayeredMap.edit(big, (m) => m.set(5, -5));
    expect(few).to.be.instanceOf(LayeredMap);
    expect(few.get(5)).to.equal(-5);
    const many = LayeredMap.edit(few, (m) => {
      for (let i = 0; i < 400; i++) m.delete(i);
    });
    expect(many).to.be.instanceOf(Map);
    expect(many.size).to.equal(600);
    expect(few.get(0)).to.equal(0);
  });
});
