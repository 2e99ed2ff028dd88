// The fail-closed rules of the snapshot builder: a MultiNetworkPolicy that fails validation (no
// apiVersion, an unserved one, a wrong type) isolates what it selects and allows nothing, as its
// message says; a policy defined twice isolates its whole namespace; an address a live pod claims
// on a network where an earlier pod has it is removed from the later pod.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { SnapshotBuilder, type SourcedObject } from '../../../src/cluster/build-snapshot.js';
import { formatProblem } from '../../../src/cluster/problem.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';

const STATUS = 'k8s.v1.cni.cncf.io/network-status';
const POLICY_FOR = 'k8s.v1.cni.cncf.io/policy-for';

function pod(name: string, ip: string, phase = 'Running'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'app',
      uid: `uid-${name}`,
      labels: { app: name },
      annotations: {
        [STATUS]: JSON.stringify([{ name: 'app/net', interface: 'net1', ips: [ip] }]),
      },
    },
    spec: { nodeName: 'w1' },
    status: { phase },
  };
}

const nad = {
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name: 'net', namespace: 'app' },
  spec: { config: '{"type":"accelerated-bridge"}' },
};

function allowFromB(extra: Record<string, unknown> = {}, network = 'net'): Record<string, unknown> {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { name: 'allow', namespace: 'app', annotations: { [POLICY_FOR]: network } },
    spec: {
      podSelector: { matchLabels: { app: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }],
    },
    ...extra,
  };
}

function build(objects: unknown[]) {
  const sourced: SourcedObject[] = objects.map((obj, i) => ({ obj, source: `f${i}.yaml#1` }));
  const snapshot = new SnapshotBuilder().build(sourced);
  const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
  return { snapshot, model, text: model.problems.map(formatProblem) };
}

describe('fail-closed rules of the snapshot', () => {
  const base = [nad, pod('a', '10.0.0.1'), pod('b', '10.0.0.2')];

  it('a valid policy allows from b (the baseline the cases below narrow)', () => {
    const { model } = build([...base, allowFromB()]);
    expect(model.policies[0]!.ingressRules).to.have.length(1);
  });

  for (const [what, apiVersion] of [
    ['no apiVersion', undefined],
    ['an unserved apiVersion', 'k8s.cni.cncf.io/v9'],
  ] as const) {
    it(`a policy with ${what} isolates what it selects and allows nothing, as it says`, () => {
      const { model, text } = build([...base, allowFromB({ apiVersion })]);
      const p = model.policies[0]!;
      expect(p.networks).to.deep.equal(['app/net']);
      expect(p.podSelector).to.not.equal(undefined);
      expect([p.ingress, p.egress]).to.deep.equal([true, true]);
      expect(p.ingressRules).to.deep.equal([]);
      expect(p.egressRules).to.deep.equal([]);
      expect(text.join('\n')).to.match(
        /MultiNetworkPolicy app\/allow apiVersion: .*allows nothing \[f3\.yaml#1\]/,
      );
    });
  }

  it('a policy that fails the schema (a wrong type) allows nothing at all', () => {
    const bad = allowFromB();
    (bad.spec as Record<string, unknown>).egress = [{ ports: [{ port: true }] }];
    const { model } = build([...base, bad]);
    expect(model.policies[0]!.ingressRules).to.deep.equal([]);
    expect(model.policies[0]!.egressRules).to.deep.equal([]);
  });

  it('a policy defined twice isolates every pod of its namespace on both networks, and allows nothing', () => {
    const { snapshot, model, text } = build([...base, allowFromB(), allowFromB({}, 'other')]);
    expect(snapshot.policies).to.have.length(1);
    const p = model.policies[0]!;
    expect(p.networks).to.deep.equal(['app/net', 'app/other']);
    expect(p.podSelector).to.deep.include({ matchLabels: {} });
    expect(p.ingressRules).to.deep.equal([]);
    expect(text.join('\n')).to.contain(
      'error: MultiNetworkPolicy app/allow: is defined more than once (first in f3.yaml#1)',
    );
  });

  it('an address a later pod claims stays with the first; a finished pod claims nothing', () => {
    const { snapshot, text } = build([
      ...base,
      pod('c', '10.0.0.2'),
      pod('old', '10.0.0.1', 'Succeeded'),
      pod('d', '10.0.0.1'),
    ]);
    const ips = Object.fromEntries(snapshot.pods.map((p) => [p.name, p.interfaces[0]!.ips]));
    expect(ips).to.deep.equal({ a: ['10.0.0.1'], b: ['10.0.0.2'], c: [], d: [], old: ['10.0.0.1'] });
    const shared = text.filter((t) => t.includes('already claimed by'));
    expect(shared).to.deep.equal([
      'error: Pod app/c metadata.annotations["k8s.v1.cni.cncf.io/network-status"]: address 10.0.0.2 on network app/net is already claimed by Pod app/b; the address is removed from this pod: no policy that selects it allows the address [f3.yaml#1]',
      'error: Pod app/d metadata.annotations["k8s.v1.cni.cncf.io/network-status"]: address 10.0.0.1 on network app/net is already claimed by Pod app/a; the address is removed from this pod: no policy that selects it allows the address [f5.yaml#1]',
    ]);
  });
});
