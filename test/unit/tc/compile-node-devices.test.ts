// compileNodeDevices: a chosen subset of a node's devices, each built exactly as compileNode
// builds it (deep-equal), on random clusters (cluster-gen.ts) with random subsets, and on the
// synthetic cluster the benchmarks use.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { synthesize } from '../../../bench/synthetic.js';
import { compileNode, compileNodeDevices } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { CompileMemo } from '../../../src/tc/compile/reuse/compile-memo.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import type { PolicyModel } from '../../../src/policy/types.js';
import { build, clusterArb } from './cluster-gen.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 60);

/** Compares every node's subset compile (devices chosen by `pick`) with its full compile. */
function checkSubsets(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  pick: (i: number) => boolean,
  memo?: CompileMemo,
): number {
  let compared = 0;
  for (const node of [...snapshot.nodes.keys()].sort()) {
    const info = snapshot.nodes.get(node);
    const full = compileNode(model, node, info, DEFAULT_COMPILE_OPTIONS);
    const chosen = new Set(full.devices.filter((_, i) => pick(i)).map((d) => d.device));
    const sub = compileNodeDevices(
      model,
      node,
      info,
      DEFAULT_COMPILE_OPTIONS,
      (d) => chosen.has(d.device),
      undefined,
      memo,
    );
    expect(sub.devices.map((d) => d.device)).to.deep.equal([...chosen]);
    expect(sub.devices).to.deep.equal(full.devices.filter((d) => chosen.has(d.device)));
    expect(sub.unenforced).to.deep.equal(full.unenforced);
    compared += sub.devices.filter((d) => d.chains.length > 0).length;
  }
  return compared;
}

describe('compileNodeDevices', () => {
  it('builds each chosen device as compileNode does, on random clusters and subsets', () => {
    let compared = 0;
    fc.assert(
      fc.property(clusterArb, fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), (c, bits) => {
        const { snapshot, model } = build(c.objects);
        compared += checkSubsets(snapshot, model, (i) => bits[i % bits.length]!);
      }),
      { numRuns: RUNS },
    );
    // Devices with filters were compared, not only empty ones.
    expect(compared).to.be.greaterThan(RUNS);
  });

  it('builds the same devices with one memo shared by every call, as explain --matrix shares one', () => {
    let compared = 0;
    let remembered = 0;
    fc.assert(
      fc.property(clusterArb, fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), (c, bits) => {
        const { snapshot, model } = build(c.objects);
        const memo = new CompileMemo();
        // Twice over every node: the second pass finds what the first one left in the memo.
        for (let pass = 0; pass < 2; pass++)
          compared += checkSubsets(snapshot, model, (i) => bits[(i + pass) % bits.length]!, memo);
        const rules = model.interfaces.flatMap((i) => [...i.egress.rules, ...i.ingress.rules]);
        remembered += rules.filter((r) => memo.ruleIntervals.has(r)).length;
      }),
      { numRuns: RUNS },
    );
    expect(compared).to.be.greaterThan(RUNS);
    // The compiles did keep their answers in the memo they were given.
    expect(remembered).to.be.greaterThan(0);
  });

  it('builds one VF alone, or one uplink alone, as compileNode does, on the synthetic cluster', () => {
    const { snapshot, model } = build(
      synthesize({ pods: 300, policies: 30, localInterfaces: 20, otherNodes: 5, namespaces: 4, seed: 7 })
        .objects,
    );
    const node = [...snapshot.nodes.keys()].sort()[1]!;
    const info = snapshot.nodes.get(node);
    const full = compileNode(model, node, info, DEFAULT_COMPILE_OPTIONS);
    const uplink = full.devices.find((d) => d.kind === 'uplink')!;
    const vf = full.devices.filter((d) => d.kind === 'vf' && d.chains.length > 0)[3]!;
    for (const want of [uplink, vf]) {
      const sub = compileNodeDevices(
        model,
        node,
        info,
        DEFAULT_COMPILE_OPTIONS,
        (d) => d.device === want.device,
      );
      expect(sub.devices).to.deep.equal([want]);
    }
    expect(uplink.chains.length).to.be.greaterThan(1);
  });
});
