// Both mocha configurations refuse a run with `.only` or a pending (skipped) test: a suite that
// runs only part of itself, or skips, would pass without testing what it claims.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';

describe('mocha configurations', () => {
  for (const file of ['.mocharc.unit.json', '.mocharc.kernel.json']) {
    it(`${file} forbids .only and pending tests`, () => {
      const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(config.forbidOnly, 'forbidOnly').to.equal(true);
      expect(config.forbidPending, 'forbidPending').to.equal(true);
    });
  }
});
