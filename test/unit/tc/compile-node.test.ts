import { expect } from 'chai';
import { buildSnapshot } from '../../../src/cluster/build-snapshot.js';
import { loadManifestsDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { compileNode, NodeCompiler } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';

const NODE = 'worker-1';

describe('NodeCompiler', () => {
  it('reads the node again when only the node changed: the same model with other uplinks', async () => {
    // The device map is kept while the node's interfaces stay; a new uplink annotation must still
    // move the uplink's filters.
    const { objects } = await loadManifestsDir('examples/manifests');
    const snapshot = buildSnapshot(objects);
    const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
    const node = snapshot.nodes.get(NODE)!;
    const moved = { ...node, uplinks: { '*': 'p1' } };
    const compiler = new NodeCompiler(DEFAULT_COMPILE_OPTIONS);
    const first = compiler.compile(model, NODE, node);
    const second = compiler.compile(model, NODE, moved);
    const uplinks = (p: typeof first) => p.devices.filter((d) => d.kind === 'uplink').map((d) => d.device);
    expect(uplinks(first)).to.deep.equal(['p0']);
    expect(uplinks(second)).to.deep.equal(['p1']);
    expect(second).to.deep.equal(compileNode(model, NODE, moved, DEFAULT_COMPILE_OPTIONS));
    // And the same node again gives the same pipeline as the first time.
    expect(compiler.compile(model, NODE, node)).to.deep.equal(first);
  });
});
