// The resolve hook that keeps the client library's generated API out of the agent: it redirects
// exactly one import (config.js -> ./gen/index.js), and the replacement gives config.js the same
// values the generated index would. The real CLI runs with the hook in cluster-agent.test.ts.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { replacementOf, resolve } from '../../../../src/cluster/kube/client-library-hooks.js';
import * as gen from '../../../../src/cluster/kube/client-library-gen.js';

const configUrl = import.meta.resolve('@kubernetes/client-node/dist/config.js');
const indexUrl = import.meta.resolve('@kubernetes/client-node');

/** The names the installed library's config.js imports from './gen/index.js'. */
function namesConfigImports(): string[] {
  const text = readFileSync(fileURLToPath(configUrl), 'utf8');
  const m = /import\s*\{([^}]*)\}\s*from\s*['"]\.\/gen\/index\.js['"]/.exec(text);
  expect(m, "config.js imports from './gen/index.js'").to.not.equal(null);
  return m![1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => s.split(/\s+as\s+/)[0]!);
}

describe('client-library-hooks: the client library without its generated API', () => {
  it("redirects config.js's import of ./gen/index.js, and nothing else", () => {
    const url = replacementOf('./gen/index.js', configUrl);
    expect(url).to.match(/\/client-library-gen\.js$/);
    expect(replacementOf('./gen/index.js', indexUrl)).to.equal(undefined);
    expect(replacementOf('./watch.js', configUrl)).to.equal(undefined);
    expect(replacementOf('./gen/index.js', undefined)).to.equal(undefined);
    expect(replacementOf('./gen/index.js', 'file:///srv/app/config.js')).to.equal(undefined);
  });

  it('passes every other import to the next hook, unchanged', () => {
    const seen: string[] = [];
    const next = (s: string) => {
      seen.push(s);
      return { url: `file:///next/${s}` };
    };
    expect(resolve('./watch.js', { parentURL: configUrl }, next)).to.deep.equal({
      url: 'file:///next/./watch.js',
    });
    expect(resolve('./gen/index.js', { parentURL: configUrl }, next)).to.deep.include({ shortCircuit: true });
    expect(seen).to.deep.equal(['./watch.js']);
  });

  it('gives config.js every name it imports, the same values as the generated index', async () => {
    const full = (await import('@kubernetes/client-node')) as Record<string, unknown>;
    const shim = gen as Record<string, unknown>;
    const names = namesConfigImports();
    expect(names.length).to.be.greaterThan(0);
    for (const n of names) {
      expect(shim[n], n).to.be.a('function');
      expect(shim[n], n).to.equal(full[n]);
    }
    expect(Object.keys(shim).sort()).to.deep.equal([...names].sort());
  });
});
