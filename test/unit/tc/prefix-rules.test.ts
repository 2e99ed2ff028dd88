import { expect } from 'chai';
import fc from 'fast-check';
import {
  formatAddress,
  intervalToCidrs,
  parseCidrInterval,
  type Interval,
} from '../../../src/util/ip/index.js';
import {
  CHUNK_BITS,
  lookupPrefixRules,
  prefixRuleGroups,
  prefixRules,
  type KeyedPiece,
  type PrefixRule,
} from '../../../src/tc/compile/chains/prefix-rules.js';

/** Random (start, width, key) triples laid out left to right from `base`, without overlap, up to `last`. */
function layOut(raw: [number, number, string][], base: bigint, last: number): KeyedPiece[] {
  const sorted = [...raw].sort((x, y) => x[0] - y[0]);
  const out: KeyedPiece[] = [];
  let next = 0;
  for (const [start, width, key] of sorted) {
    const lo = Math.max(start, next);
    const hi = Math.min(last, lo + width);
    if (lo > last) break;
    out.push({ interval: [base + BigInt(lo), base + BigInt(hi)], key });
    next = hi + 1;
  }
  return out;
}

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
      .map((raw) => layOut(raw, BigInt(base), 255));
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

  // Pieces over a few neighbouring blocks (256 addresses each) of 10.0.0.0/22.
  const base22 = interval('10.0.0.0/22')[0];
  const arbWide = fc
    .array(
      fc.tuple(
        fc.integer({ min: 0, max: 1023 }),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom('a', 'b', 'f'),
      ),
      { maxLength: 16 },
    )
    .map((raw) => layOut(raw, base22, 1023));

  it('gives the same rules as the textbook ORTC over the whole trie (no block boundaries in the result)', () => {
    fc.assert(
      fc.property(arbWide, (pieces) => {
        expect(text(prefixRules(pieces, 'f', 4), 4)).to.deep.equal(text(plainOrtc(pieces, 'f', 32), 4));
        // Groups in their order, sorted stably by length only (as the renderer sorts by prio),
        // list the rules of one length in address order.
        const flat = prefixRuleGroups(pieces, 'f', 4).groups.flatMap((g) => g.rules);
        const byLength = [...flat].sort((a, b) => b.len - a.len);
        expect(text(byLength, 4)).to.deep.equal(text(prefixRules(pieces, 'f', 4), 4));
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('rebuilt with the state of the previous map, gives what a fresh build gives and keeps unchanged blocks', () => {
    let reusedSomewhere = 0;
    fc.assert(
      fc.property(
        arbWide,
        fc.integer({ min: 0, max: 1023 }),
        fc.constantFrom('a', 'b'),
        (pieces, at, key) => {
          const before = prefixRuleGroups(pieces, 'f', 4);
          // One address changes its decision (as when one pod's label changes).
          const addr = base22 + BigInt(at);
          const edited: KeyedPiece[] = [];
          for (const p of pieces) {
            const [lo, hi] = p.interval;
            if (addr < lo || addr > hi) edited.push(p);
            else {
              if (lo < addr) edited.push({ interval: [lo, addr - 1n], key: p.key });
              if (addr < hi) edited.push({ interval: [addr + 1n, hi], key: p.key });
            }
          }
          edited.push({ interval: [addr, addr], key });
          const fresh = prefixRuleGroups(edited, 'f', 4);
          const reused = prefixRuleGroups(edited, 'f', 4, before.state);
          expect(reused.groups.map((g) => text(g.rules, 4))).to.deep.equal(
            fresh.groups.map((g) => text(g.rules, 4)),
          );
          expect(reused.groups.map((g) => g.keys)).to.deep.equal(fresh.groups.map((g) => g.keys));
          // A block that does not hold the changed address is taken over, trie and all (its rules
          // may still differ: the value it inherits from above can change).
          const changedBlock = addr >> BigInt(CHUNK_BITS);
          for (const [lo, block] of reused.state.blocks) {
            if (lo >> BigInt(CHUNK_BITS) === changedBlock) continue;
            // (A block that was inside a larger uniform range before is new.)
            const was = before.state.blocks.get(lo);
            if (!was) continue;
            expect(was, 'an unchanged block is reused').to.equal(block);
            reusedSomewhere++;
          }
          // A block keeps the rules for the value it inherits now, not for every value it had.
          for (const b of reused.state.blocks.values()) expect(b.groups.size).to.equal(1);
        },
      ),
      { seed: 11, numRuns: 300 },
    );
    expect(reusedSomewhere).to.be.greaterThan(50);
  });
});

/** ORTC without blocks, the way the paper states it: the reference for the blocked version. */
function plainOrtc(pieces: KeyedPiece[], fallback: string, bits: number): PrefixRule[] {
  const valueAt = (a: bigint) =>
    pieces.find((p) => a >= p.interval[0] && a <= p.interval[1])?.key ?? fallback;
  const uniform = (lo: bigint, hi: bigint): string | undefined => {
    const k = valueAt(lo);
    const crosses = pieces.some(
      (p) => (p.interval[0] > lo && p.interval[0] <= hi) || (p.interval[1] >= lo && p.interval[1] < hi),
    );
    return crosses ? undefined : k;
  };
  type Node = { lo: bigint; len: number; set: string[]; kids?: [Node, Node] };
  const build = (lo: bigint, len: number): Node => {
    const hi = lo + (1n << BigInt(bits - len)) - 1n;
    const u = uniform(lo, hi);
    if (u !== undefined) return { lo, len, set: [u] };
    const half = 1n << BigInt(bits - len - 1);
    const kids: [Node, Node] = [build(lo, len + 1), build(lo + half, len + 1)];
    const both = kids[0].set.filter((x) => kids[1].set.includes(x));
    const set = both.length > 0 ? both : [...new Set([...kids[0].set, ...kids[1].set])].sort();
    return { lo, len, set, kids };
  };
  const rules: PrefixRule[] = [];
  const choose = (n: Node, inherited: string) => {
    let v = inherited;
    if (!n.set.includes(inherited)) {
      v = n.set[0]!;
      rules.push({ lo: n.lo, len: n.len, key: v });
    }
    if (n.kids) for (const k of n.kids) choose(k, v);
  };
  choose(build(0n, 0), fallback);
  return rules.sort((a, b) => b.len - a.len || (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
}
