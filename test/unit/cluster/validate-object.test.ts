import { expect } from 'chai';
import { validateObject } from '../../../src/cluster/validate-object.js';

function policy(apiVersion: string, spec: unknown): unknown {
  return { apiVersion, kind: 'MultiNetworkPolicy', metadata: { name: 'p', namespace: 'app' }, spec };
}

const goodSpec = {
  podSelector: {
    matchLabels: { app: 'api' },
    matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }],
  },
  policyTypes: ['Ingress', 'Egress'],
  ingress: [
    {
      from: [
        { podSelector: {}, namespaceSelector: { matchLabels: { ns: 'x' } } },
        { ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } },
      ],
      ports: [
        { protocol: 'TCP', port: 'http' },
        { protocol: 'UDP', port: 5000, endPort: 5010 },
        { protocol: 'SCTP' },
      ],
    },
  ],
  egress: [{ to: [{ ipBlock: { cidr: 'fd00:56::/64' } }], ports: [{ port: 80, endPort: 81 }] }],
};

describe('validateObject: MultiNetworkPolicy against the CRD schema', () => {
  for (const version of ['v1beta1', 'v1beta2']) {
    it(`accepts a full ${version} policy, endPort included`, () => {
      expect(validateObject(policy(`k8s.cni.cncf.io/${version}`, goodSpec))).to.deep.equal([]);
    });
  }

  it('rejects wrong types with the field path and fails the policy closed', () => {
    const spec = {
      podSelector: { matchLabels: { app: 5 } },
      ingress: [
        { ports: [{ port: 80 }, { port: true, endPort: 'x' }], from: [{ ipBlock: { except: 'a' } }] },
      ],
      policyTypes: 'Ingress',
    };
    const problems = validateObject(policy('k8s.cni.cncf.io/v1beta1', spec), 'p.yaml#2');
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath).to.deep.equal({
      'spec.podSelector.matchLabels.app': 'must be a string, got number 5',
      'spec.ingress[0].ports[1].port': 'must be an integer or a string, got boolean true',
      'spec.ingress[0].ports[1].endPort': 'must be an integer, got string "x"',
      'spec.ingress[0].from[0].ipBlock.cidr': 'is required',
      'spec.ingress[0].from[0].ipBlock.except': 'must be an array, got string "a"',
      'spec.policyTypes': 'must be an array, got string "Ingress"',
    });
    for (const p of problems) {
      expect(p).to.include({
        severity: 'error',
        object: 'MultiNetworkPolicy app/p',
        effect: 'the policy isolates the pods it selects and allows nothing',
        source: 'p.yaml#2',
      });
    }
  });

  it('requires spec and spec.podSelector', () => {
    const noSelector = validateObject(policy('k8s.cni.cncf.io/v1beta1', { policyTypes: ['Ingress'] }));
    expect(noSelector.map((p) => p.path)).to.deep.equal(['spec.podSelector']);
    const noSpec = validateObject({
      apiVersion: 'k8s.cni.cncf.io/v1beta1',
      kind: 'MultiNetworkPolicy',
      metadata: { name: 'p' },
    });
    expect(noSpec.map((p) => p.path)).to.deep.equal(['spec']);
  });

  it('warns about fields the CRD does not define, as the API server would prune them', () => {
    const problems = validateObject(policy('k8s.cni.cncf.io/v1beta1', { podSelector: {}, ingres: [] }));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include({ severity: 'warning', path: 'spec.ingres', message: 'unknown field' });
  });

  it('rejects an API version the CRD does not serve', () => {
    const problems = validateObject(policy('k8s.cni.cncf.io/v1', goodSpec));
    expect(problems).to.have.length(1);
    expect(problems[0]?.path).to.equal('apiVersion');
    expect(problems[0]?.message).to.contain('k8s.cni.cncf.io/v1beta1, k8s.cni.cncf.io/v1beta2');
  });
});

describe('validateObject: other kinds', () => {
  it('checks a NAD against its CRD', () => {
    const nad = {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'n', namespace: 'a' },
    };
    expect(validateObject({ ...nad, spec: { config: '{}' } })).to.deep.equal([]);
    expect(validateObject({ ...nad, spec: { config: { type: 'x' } } }).map((p) => p.path)).to.deep.equal([
      'spec.config',
    ]);
  });

  it('checks Pod structure lightly', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'a', labels: { app: 1 } },
      spec: {
        hostNetwork: 'yes',
        containers: [{ name: 'c', ports: [{ containerPort: 70000, protocol: 'ICMP' }] }],
      },
    };
    expect(validateObject(pod).map((p) => p.path)).to.have.members([
      'metadata.labels.app',
      'spec.hostNetwork',
      'spec.containers[0].ports[0].containerPort',
      'spec.containers[0].ports[0].protocol',
    ]);
  });

  it('needs a name, and reports unknown kinds and non-objects', () => {
    const noName = validateObject({ apiVersion: 'v1', kind: 'Namespace', metadata: {} });
    expect(noName[0]).to.include({ path: 'metadata.name', effect: 'the object is ignored' });
    expect(validateObject({ apiVersion: 'v1', kind: 'Foo', metadata: { name: 'f' } })[0]?.message).to.equal(
      'unknown kind "Foo"',
    );
    expect(validateObject('text')[0]?.message).to.equal('is not an object');
    expect(validateObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'w' } })).to.deep.equal([]);
  });
});
