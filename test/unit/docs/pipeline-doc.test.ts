// docs/tc-rule-pipeline.md quotes real rules of the worked example; they must stay real.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { compileNode } from '../../../src/tc/compile-node.js';
import { renderNodeTc, kernelFilterCount } from '../../../src/tc/render-tc.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile-options.js';

describe('docs/tc-rule-pipeline.md', () => {
  it('quotes only filter lines that render of the worked example produces', async () => {
    const snapshot = await loadSnapshotFromDir('examples/worked');
    const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
    const p = compileNode(model, 'node-a', snapshot.nodes.get('node-a'), DEFAULT_COMPILE_OPTIONS);
    const rendered = new Set(renderNodeTc(p, DEFAULT_COMPILE_OPTIONS.ctZone).split('\n'));
    const doc = readFileSync('docs/tc-rule-pipeline.md', 'utf8');
    const quoted = doc
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('filter add') || l.startsWith('filter replace'));
    expect(quoted.length).to.be.greaterThan(20);
    const missing = quoted.filter((l) => l.startsWith('filter add') && !rendered.has(l));
    expect(missing, 'lines quoted in the doc but not rendered').to.deep.equal([]);
    const counts = Object.fromEntries(p.devices.map((d) => [d.device, kernelFilterCount(d)]));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(doc).to.include(`The output has ${total} filters on three devices (\`eth1\` ${counts.eth1}, \`eth2\` ${counts.eth2}, \`p0\` ${counts.p0})`);
  });
});
