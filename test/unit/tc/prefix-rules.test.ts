import { expect } from 'chai';
import fc from 'fast-check';
import {
  formatAddress,
  intervalToCidrs,
  parseCidrInterval,
  type Interval,
} from '../../../src/tc/address-space.js';
import { lookupPrefixRules, prefixRules, type KeyedPiece } from '../../../src/tc/prefix-rules.js';

function interval(cidr: string): Interval {
  return parseCidrInterval(cidr)!.interval;
}

function text(rules: ReturnType<typeof prefixRules>, family: 4 | 6): string[] {
  return rules.map((r) => `${formatAddress(r.lo, family)}/${r.len} ${r.key}`);
}

describe('prefixRules (longest-prefix compression)', () => {
  it('writes a /16 minus two /24 as the /16 and two holes (the disjoint cover needs nine)', () => {
    const [lo, hi] = interval('10.20.0.0/16');
    const pieces: KeyedPiece[] = [
      { interval: [lo, interval('10.20.1.0/24')[0] - 1n], key: 'allow' },
      { interval: [interval('10.20.1.0/24')[1] + 1n, interval('10.20.7.0/24')[0] - 1n], key: 'allow' },
      { interval: [interval('10.20.7.0/24')[1] + 1n, hi], key: 'allow' },
    ];
    const cover = pieces.flatMap((p) => intervalToCidrs(p.interval, 4));
    expect(cover).to.have.length(9);
    expect(text(prefixRules(pieces, 'drop', 4), 4)).to.deep.equal([
      '10.20.1.0/24 drop',
      '10.20.7.0/24 drop',
      '10.20.0.0/16 allow',
    ]);
  });

  it('merges neighbouring blocks with one decision into a shorter prefix', () => {
    const pieces: KeyedPiece[] = ['10.20.0.0/16', '10.21.0.0/16', '10.22.0.0/16', '10.23.0.0/16'].map(
      (c) => ({ interval: interval(c), key: 'allow' }),
    );
    expect(text(prefixRules(pieces, 'drop', 4), 4)).to.deep.equal(['10.20.0.0/14 allow']);
  });

  it('uses the whole space (/0) when most addresses share a decision other than the fallback', () => {
    const [lo, hi] = interval('10.0.0.0/8');
    const pieces: KeyedPiece[] = [
      { interval: [0n, lo - 1n], key: 'allow' },
      { interval: [hi + 1n, (1n << 32n) - 1n], key: 'allow' },
    ];
    expect(text(prefixRules(pieces, 'drop', 4), 4)).to.deep.equal(['10.0.0.0/8 drop', '0.0.0.0/0 allow']);
  });

  it('needs no rule when everything takes the fallback', () => {
    expect(prefixRules([], 'drop', 6)).to.deep.equal([]);
    expect(prefixRules([{ interval: interval('fd00::/8'), key: 'drop' }], 'drop', 6)).to.deep.equal([]);
  });

  it('is deterministic and order-independent', () => {
    const pieces: KeyedPiece[] = [
      { interval: interval('fd00::1/128'), key: 'b' },
      { interval: interval('fd00::2/127'), key: 'a' },
      { interval: interval('fd00::8/125'), key: 'c' },
    ];
    const once = prefixRules(pieces, 'z', 6);
    expect(prefixRules([...pieces].reverse(), 'z', 6)).to.deep.equal(once);
  });

  it('gives every address the value of its piece, with no more rules than the disjoint cover (random maps)', () => {
    // Pieces inside 10.0.0.0/24 so that every address of the region can be checked.
    const base = Number(interval('10.0.0.0/24')[0]);
    const arbPieces = fc
      .array(
        fc.tuple(
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 40 }),
          fc.constantFrom('a', 'b', 'c', 'f'),
        ),
        {
          maxLength: 12,
        },
      )
      .map((raw) => {
        // Lay them out left to right, without overlap.
        const sorted = [...raw].sort((x, y) => x[0] - y[0]);
        const out: KeyedPiece[] = [];
        let next = 0;
        for (const [start, width, key] of sorted) {
          const lo = Math.max(start, next);
          const hi = Math.min(255, lo + width);
          if (lo > 255) break;
          out.push({ interval: [BigInt(base + lo), BigInt(base + hi)], key });
          next = hi + 1;
        }
        return out;
      });
    fc.assert(
      fc.property(arbPieces, (pieces) => {
        const rules = prefixRules(pieces, 'f', 4);
        for (let a = -2; a < 258; a++) {
          const addr = BigInt(base + a);
          const want = pieces.find((p) => addr >= p.interval[0] && addr <= p.interval[1])?.key ?? 'f';
          expect(lookupPrefixRules(rules, 'f', 4, addr), `address offset ${a}`).to.equal(want);
        }
        const cover = pieces.filter((p) => p.key !== 'f').flatMap((p) => intervalToCidrs(p.interval, 4));
        expect(rules.length).to.be.at.most(cover.length);
        for (let i = 1; i < rules.length; i++) expect(rules[i]!.len).to.be.at.most(rules[i - 1]!.len);
      }),
      { seed: 20261123, numRuns: 300 },
    );
  });
});
