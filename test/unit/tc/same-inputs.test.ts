import { expect } from 'chai';
import type { ModelDelta, ResolvedRule } from '../../../src/policy/types.js';
import { CompileMemo } from '../../../src/tc/compile/reuse/compile-memo.js';
import { changedAddresses } from '../../../src/tc/compile/reuse/same-inputs.js';

// Rules stand in as bare objects: changedAddresses compares them by identity only.
const rule = (): ResolvedRule => ({}) as ResolvedRule;

describe('changedAddresses', () => {
  it('answers where an updated rule list differs from its last version', () => {
    const memo = new CompileMemo();
    const [a, b0, b1] = [rule(), rule(), rule()];
    const delta: ModelDelta = {
      replaced: new Map([[b1, { previous: b0, addresses: new Set(['10.0.0.7']) }]]),
    };
    memo.record(delta);
    expect([...changedAddresses(memo, [a, b1], [a, b0])!]).to.deep.equal(['10.0.0.7']);
    expect(changedAddresses(memo, [a, b1], [a, rule()]), 'a rule no update replaced').to.equal(undefined);
    expect(changedAddresses(memo, [a, b1], [a]), 'another length').to.equal(undefined);
  });

  it('keeps the answer of the newest list only: a chain of label changes holds no old versions', () => {
    const memo = new CompileMemo();
    // Versions of one VF's rule list, each from an update that replaced its one rule.
    const rules = [rule()];
    const lists: ResolvedRule[][] = [[rules[0]!]];
    for (let i = 1; i <= 5; i++) {
      rules.push(rule());
      memo.record({
        replaced: new Map([[rules[i]!, { previous: rules[i - 1]!, addresses: new Set([`10.0.0.${i}`]) }]]),
      });
      lists.push([rules[i]!]);
      const at = changedAddresses(memo, lists[i]!, lists[i - 1]!);
      expect([...at!]).to.deep.equal([`10.0.0.${i}`]);
      expect(memo.changedAt.has(lists[i]!)).to.equal(true);
      // The entry of the list before would keep the one before it alive, and so on.
      expect(memo.changedAt.has(lists[i - 1]!), `version ${i - 1} is dropped`).to.equal(false);
    }
    // The newest answer is still remembered (same object on a second call).
    const first = changedAddresses(memo, lists[5]!, lists[4]!);
    expect(changedAddresses(memo, lists[5]!, lists[4]!)).to.equal(first);
  });
});
