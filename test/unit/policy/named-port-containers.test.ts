// Named ports resolve on the containers that run next to the workload, as Kubernetes' FindPort:
// the regular containers and the sidecars (init containers with restartPolicy: Always). An
// ordinary init container has exited before the pod serves, so its named port allows nothing.
// The pods go through the whole path: raw objects, buildSnapshot, the model, the reference verdict.

import { expect } from 'chai';
import { describe, it } from 'mocha';
import { buildSnapshot } from '../../../src/cluster/build-snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { verdict } from '../../../src/policy/verdict.js';
import type { Flow } from '../../../src/policy/types.js';

const NET = 'app/accel-net';

function pod(name: string, ip: string, spec: Record<string, unknown>) {
  const status = [
    { name: 'cbr0', interface: 'eth0', ips: [`172.16.0.${ip.split('.')[3]}`], default: true },
    { name: NET, interface: 'net1', ips: [ip] },
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'app',
      labels: { app: name },
      annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) },
    },
    spec: { nodeName: 'worker-1', ...spec },
  };
}

const server = pod('srv', '10.0.0.2', {
  containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }] }],
  initContainers: [
    { name: 'setup', ports: [{ name: 'admin', containerPort: 9000 }] },
    { name: 'migrate', restartPolicy: 'OnFailure', ports: [{ name: 'migrate', containerPort: 9001 }] },
    { name: 'proxy', restartPolicy: 'Always', ports: [{ name: 'proxy', containerPort: 15001 }] },
  ],
});

const objects = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } },
  {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'accel-net', namespace: 'app' },
    spec: { config: '{"type":"accelerated-bridge"}' },
  },
  server,
  pod('cli', '10.0.0.1', { containers: [{ name: 'main' }] }),
  {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: {
      name: 'named',
      namespace: 'app',
      annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'accel-net' },
    },
    spec: {
      podSelector: { matchLabels: { app: 'srv' } },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 'http' }, { port: 'admin' }, { port: 'migrate' }, { port: 'proxy' }] }],
    },
  },
];

const snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
const model = buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] });
const tcp = (port: number): Flow => ({
  network: NET,
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  protocol: 'TCP',
  port,
});

describe('named ports come from the containers that run', () => {
  it('reads the regular containers and the sidecars, not ordinary init containers', () => {
    expect(snapshot.problems).to.deep.equal([]);
    const srv = snapshot.pods.find((p) => p.name === 'srv');
    expect(srv?.namedPorts.map((p) => p.name)).to.deep.equal(['http', 'proxy']);
  });

  it("a regular container's and a sidecar's named port allow their port", () => {
    expect(verdict(model, tcp(8080)).verdict).to.equal('allow');
    expect(verdict(model, tcp(15001)).verdict).to.equal('allow');
  });

  it("an ordinary init container's named port allows nothing", () => {
    expect(verdict(model, tcp(9000)).verdict).to.equal('deny');
    expect(verdict(model, tcp(9001)).verdict).to.equal('deny');
  });
});

// Kubernetes accepts one port name in two containers (with a warning: "services and probes that
// select ports by name will use" the first). FindPort takes the first container port with the
// name and protocol, regular containers before sidecars; a later one must not be opened too.
describe('a port name used twice in a pod resolves as FindPort: the first one', () => {
  const dup = pod('dup', '10.0.0.3', {
    containers: [
      { name: 'app', ports: [{ name: 'metrics', containerPort: 7472 }] },
      { name: 'debug', ports: [{ name: 'metrics', containerPort: 7473 }] },
      { name: 'dns', ports: [{ name: 'metrics', containerPort: 7474, protocol: 'UDP' }] },
    ],
    initContainers: [
      { name: 'proxy', restartPolicy: 'Always', ports: [{ name: 'metrics', containerPort: 15090 }] },
    ],
  });
  const policy = {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: {
      name: 'dup',
      namespace: 'app',
      annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'accel-net' },
    },
    spec: {
      podSelector: { matchLabels: { app: 'dup' } },
      ingress: [{ ports: [{ port: 'metrics' }, { port: 'metrics', protocol: 'UDP' }] }],
    },
  };
  const snap = buildSnapshot([...objects.slice(0, 2), dup, objects[3]!, policy].map((obj) => ({ obj })));
  const mdl = buildPolicyModel(snap, { networkPlugins: ['accelerated-bridge'] });
  const to = (protocol: 'TCP' | 'UDP', port: number): Flow => ({
    network: NET,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.3',
    protocol,
    port,
  });

  it('allows the first TCP "metrics" and the UDP one, not the later TCP ones', () => {
    expect(verdict(mdl, to('TCP', 7472)).verdict).to.equal('allow');
    expect(verdict(mdl, to('UDP', 7474)).verdict).to.equal('allow');
    expect(verdict(mdl, to('TCP', 7473)).verdict).to.equal('deny');
    expect(verdict(mdl, to('TCP', 15090)).verdict).to.equal('deny');
  });
});
