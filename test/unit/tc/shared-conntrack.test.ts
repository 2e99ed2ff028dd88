// Two networks with pods on the node that reuse an address share the node's one conntrack zone
// (a connection of one can let the same 5-tuple through on the other): the compile says so once
// per pair of networks, and only then (docs/tc-rule-pipeline.md, section 9).

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { compileNode, NodeCompiler } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { ACCEL, clusterObjects, load, OTHER, type PodDef, policy } from './fixtures.js';

const pods = (otherNode: string, otherIp: string): PodDef[] => [
  { ns: 'x', name: 'a1', node: 'w1', network: ACCEL, ips: ['10.9.0.1'], rep: 'rep1' },
  { ns: 'x', name: 'a2', node: 'w1', network: ACCEL, ips: ['10.9.0.2'], rep: 'rep2' },
  { ns: 'x', name: 'o1', node: otherNode, network: OTHER, ips: [otherIp], rep: 'rep3' },
];
const POLICIES = [
  policy('x', 'closed', { podSelector: { matchLabels: { pod: 'a2' } }, policyTypes: ['Ingress'] }, ACCEL),
];
const shared = (warnings: readonly string[]) => warnings.filter((w) => /share conntrack zone/.test(w));

describe('networks that reuse an address on one node', () => {
  it('are named once, with an address they share and the zone', () => {
    const { snapshot, model } = load(clusterObjects(POLICIES, pods('w1', '10.9.0.1')));
    const p = compileNode(model, 'w1', snapshot.nodes.get('w1'), DEFAULT_COMPILE_OPTIONS);
    expect(shared(p.warnings)).to.deep.equal([
      `networks ${ACCEL} and ${OTHER} both use 10.9.0.1 (and maybe more addresses): they share conntrack zone ${DEFAULT_COMPILE_OPTIONS.ctZone} on this node, so a connection allowed and answered on one lets the same addresses and ports through on the other`,
    ]);
  });

  it('are not named when the addresses differ, or when one network has no pod on the node', () => {
    const apart = load(clusterObjects(POLICIES, pods('w1', '10.9.1.1')));
    expect(shared(compileNode(apart.model, 'w1', undefined, DEFAULT_COMPILE_OPTIONS).warnings)).to.deep.equal(
      [],
    );
    const elsewhere = load(clusterObjects(POLICIES, pods('w2', '10.9.0.1')));
    expect(
      shared(compileNode(elsewhere.model, 'w1', undefined, DEFAULT_COMPILE_OPTIONS).warnings),
    ).to.deep.equal([]);
  });

  it('a compiler that keeps its state says the same as a fresh compile, after a change too', () => {
    const compiler = new NodeCompiler(DEFAULT_COMPILE_OPTIONS);
    for (const ip of ['10.9.0.1', '10.9.1.1', '10.9.0.2']) {
      const { model } = load(clusterObjects(POLICIES, pods('w1', ip)));
      expect(shared(compiler.compile(model, 'w1', undefined).warnings), ip).to.deep.equal(
        shared(compileNode(model, 'w1', undefined, DEFAULT_COMPILE_OPTIONS).warnings),
      );
    }
  });
});
