import { expect } from 'chai';
import fc from 'fast-check';
import { jsonPieces, LazyArray } from '../../../src/cli/write-json.js';

const text = (v: unknown): string =>
  [...jsonPieces(v)].filter((p): p is string => typeof p === 'string').join('');

describe('jsonPieces (render --format json written piece by piece)', () => {
  it('is JSON.stringify(value, null, 2) plus a newline, byte for byte', () => {
    const withGaps = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        fc.constant(undefined),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), withGaps), (v) => {
        expect(text(v)).to.equal(JSON.stringify(v, null, 2) + '\n');
      }),
      { numRuns: 300 },
    );
  });

  it('writes a LazyArray as the array it stands for, building each element once', () => {
    const items = [{ a: 1, b: [1, 2, { c: 'x\ny' }] }, [], {}, 'z', null];
    const built: number[] = [];
    const lazy = new LazyArray(items.length, (i) => {
      built.push(i);
      return items[i];
    });
    expect(text({ head: 1, items: lazy })).to.equal(JSON.stringify({ head: 1, items }, null, 2) + '\n');
    expect(built).to.deep.equal([0, 1, 2, 3, 4]);
    expect(text(new LazyArray(0, () => 1))).to.equal('[]\n');
  });

  it('keeps toJSON and leaves undefined, functions and symbols out as JSON.stringify does', () => {
    const v = { d: new Date(0), u: undefined, f: () => 1, s: Symbol('s'), a: [undefined, () => 1], n: null };
    expect(text(v)).to.equal(JSON.stringify(v, null, 2) + '\n');
  });
});
