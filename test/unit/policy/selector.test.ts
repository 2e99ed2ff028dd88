import { expect } from 'chai';
import { describe, it } from 'mocha';
import {
  compileSelector,
  labelKeyError,
  labelValueError,
  selectorMatches,
} from '../../../src/policy/selector.js';

const scope = { object: 'MultiNetworkPolicy x/p', path: 'spec.podSelector', effect: 'E' };
const compile = (raw: unknown) => compileSelector(raw, scope);
const matches = (raw: unknown, labels: Record<string, string>) => {
  const { selector } = compile(raw);
  if (!selector) throw new Error('selector did not compile');
  return selectorMatches(selector, labels);
};

describe('label selectors', () => {
  it('validates label keys', () => {
    for (const ok of [
      'app',
      'a',
      'A.b-c_d',
      'example.com/app',
      'kubernetes.io/metadata.name',
      `${'a'.repeat(63)}`,
    ]) {
      expect(labelKeyError(ok), ok).to.equal(undefined);
    }
    for (const bad of [
      '',
      '-app',
      'app-',
      'a/b/c',
      '/app',
      'Example.com/app',
      'ex_ample.com/app',
      `${'a'.repeat(64)}`,
      'app/',
      '__proto__',
    ]) {
      expect(labelKeyError(bad), bad).to.be.a('string');
    }
    expect(labelKeyError(`${'a'.repeat(254)}/x`)).to.be.a('string');
  });

  it('validates label values (empty allowed)', () => {
    for (const ok of ['', 'x', 'v1.2_3-a', 'a'.repeat(63)])
      expect(labelValueError(ok), ok).to.equal(undefined);
    for (const bad of ['-x', 'x-', 'a b', 'a/b', 'a'.repeat(64)])
      expect(labelValueError(bad), bad).to.be.a('string');
  });

  it('{} and null fields match everything', () => {
    expect(matches({}, {})).to.equal(true);
    expect(matches({ matchLabels: null, matchExpressions: null }, { a: 'b' })).to.equal(true);
  });

  it('matchLabels needs every pair', () => {
    expect(matches({ matchLabels: { a: '1', b: '2' } }, { a: '1', b: '2', c: '3' })).to.equal(true);
    expect(matches({ matchLabels: { a: '1', b: '2' } }, { a: '1' })).to.equal(false);
    expect(matches({ matchLabels: { a: '' } }, { a: '' })).to.equal(true);
    expect(matches({ matchLabels: { a: '' } }, {})).to.equal(false);
  });

  it('implements In, NotIn, Exists, DoesNotExist', () => {
    const expr = (operator: string, values?: string[]) => ({
      matchExpressions: [{ key: 'k', operator, values }],
    });
    expect(matches(expr('In', ['1', '2']), { k: '2' })).to.equal(true);
    expect(matches(expr('In', ['1', '2']), { k: '3' })).to.equal(false);
    expect(matches(expr('In', ['1']), {})).to.equal(false);
    expect(matches(expr('NotIn', ['1']), { k: '2' })).to.equal(true);
    expect(matches(expr('NotIn', ['1']), { k: '1' })).to.equal(false);
    expect(matches(expr('NotIn', ['1']), {}), 'NotIn matches an absent key').to.equal(true);
    expect(matches(expr('Exists'), { k: '' })).to.equal(true);
    expect(matches(expr('Exists'), {})).to.equal(false);
    expect(matches(expr('DoesNotExist', []), {})).to.equal(true);
    expect(matches(expr('DoesNotExist'), { k: 'x' })).to.equal(false);
  });

  it('ANDs matchLabels and every expression', () => {
    const sel = {
      matchLabels: { app: 'db' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'debug', operator: 'DoesNotExist' },
      ],
    };
    expect(matches(sel, { app: 'db', tier: 'a' })).to.equal(true);
    expect(matches(sel, { app: 'db', tier: 'a', debug: '1' })).to.equal(false);
    expect(matches(sel, { app: 'web', tier: 'a' })).to.equal(false);
  });

  it('does not see prototype properties as labels', () => {
    expect(matches({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {})).to.equal(false);
    expect(matches({ matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }, {})).to.equal(true);
  });

  it('rejects invalid selectors with a problem at the offending path', () => {
    const cases: [unknown, string][] = [
      ['app=x', 'spec.podSelector'],
      [{ matchLabels: { app: 1 } }, 'spec.podSelector.matchLabels["app"]'],
      [{ matchLabels: { 'bad key': 'x' } }, 'spec.podSelector.matchLabels["bad key"]'],
      [{ matchLabels: { app: 'bad value' } }, 'spec.podSelector.matchLabels["app"]'],
      [{ matchLabels: ['x'] }, 'spec.podSelector.matchLabels'],
      [{ matchExpressions: {} }, 'spec.podSelector.matchExpressions'],
      [{ matchExpressions: ['x'] }, 'spec.podSelector.matchExpressions[0]'],
      [
        { matchExpressions: [{ key: 'k', operator: 'in', values: ['a'] }] },
        'spec.podSelector.matchExpressions[0].operator',
      ],
      [
        { matchExpressions: [{ key: 'k', operator: 'In', values: [] }] },
        'spec.podSelector.matchExpressions[0].values',
      ],
      [
        { matchExpressions: [{ key: 'k', operator: 'NotIn' }] },
        'spec.podSelector.matchExpressions[0].values',
      ],
      [
        { matchExpressions: [{ key: 'k', operator: 'Exists', values: ['a'] }] },
        'spec.podSelector.matchExpressions[0].values',
      ],
      [
        { matchExpressions: [{ key: 'k', operator: 'In', values: ['a b'] }] },
        'spec.podSelector.matchExpressions[0].values[0]',
      ],
      [
        { matchExpressions: [{ key: 'k', operator: 'In', values: [1] }] },
        'spec.podSelector.matchExpressions[0].values[0]',
      ],
      [
        { matchExpressions: [{ key: 'a/b/c', operator: 'Exists' }] },
        'spec.podSelector.matchExpressions[0].key',
      ],
      [{ matchExpressions: [{ operator: 'Exists' }] }, 'spec.podSelector.matchExpressions[0].key'],
    ];
    for (const [raw, path] of cases) {
      const result = compile(raw);
      expect(result.selector, JSON.stringify(raw)).to.equal(undefined);
      expect(
        result.problems.map((p) => p.path),
        JSON.stringify(raw),
      ).to.include(path);
      expect(
        result.problems.every((p) => p.severity === 'error' && p.effect === 'E' && p.object === scope.object),
      ).to.equal(true);
    }
  });
});
