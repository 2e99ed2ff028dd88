// The compile without a CompileCache (compileNodeWithoutReuse) is the baseline of the caches:
// compileNode (a fresh cache, shared by the devices of one compile) and a NodeCompiler that
// compiled the cluster with other policies before (parts kept from those) must build exactly what it builds, on
// random clusters (cluster-gen.ts), with chain 2 split per block or not.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { compileNode, compileNodeWithoutReuse, NodeCompiler } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../../src/tc/compile/options.js';
import { build, clusterArb } from './cluster-gen.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 60);

/** Every override block split (0), and never (the default threshold on these small clusters). */
const OPTIONS: CompileOptions[] = [
  DEFAULT_COMPILE_OPTIONS,
  { ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: 0, overrideSubBlockSplit: 0 },
];

describe('compile without reuse', () => {
  it('builds what compileNode builds, on random clusters', () => {
    let compared = 0;
    fc.assert(
      fc.property(clusterArb, fc.constantFrom(...OPTIONS), (c, opts) => {
        const { snapshot, model } = build(c.objects);
        for (const node of [...snapshot.nodes.keys()].sort()) {
          const info = snapshot.nodes.get(node);
          const fresh = compileNodeWithoutReuse(model, node, info, opts);
          expect(compileNode(model, node, info, opts)).to.deep.equal(fresh);
          compared += fresh.devices.filter((d) => d.chains.length > 0).length;
        }
      }),
      { numRuns: RUNS },
    );
    // Devices with filters were compared, not only empty ones.
    expect(compared).to.be.greaterThan(RUNS);
  });

  it('builds what a NodeCompiler builds after compiling the cluster with other policies', () => {
    let compared = 0;
    fc.assert(
      fc.property(
        clusterArb,
        fc.array(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(...OPTIONS),
        (c, masks, opts) => {
          // The cluster, then with some of its policies left out (the same pods under the same
          // keys, other rules), then whole again.
          const isPolicy = (o: unknown) => (o as { kind?: string }).kind === 'MultiNetworkPolicy';
          const versions = [
            c.objects,
            ...masks.map((mask) => {
              let k = 0;
              return c.objects.filter((o) => !isPolicy(o) || mask[k++ % mask.length]);
            }),
            c.objects,
          ];
          const compilers = new Map<string, NodeCompiler>();
          for (const objects of versions) {
            const { snapshot, model } = build(objects);
            for (const node of [...snapshot.nodes.keys()].sort()) {
              const info = snapshot.nodes.get(node);
              let compiler = compilers.get(node);
              if (!compiler) compilers.set(node, (compiler = new NodeCompiler(opts)));
              const fresh = compileNodeWithoutReuse(model, node, info, opts);
              expect(compiler.compile(model, node, info)).to.deep.equal(fresh);
              compared += fresh.devices.filter((d) => d.chains.length > 0).length;
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(compared).to.be.greaterThan(RUNS);
  });
});
