// A small fixed cluster for the hand-written tc tests, as raw objects (the normal loading path).
//
//   nodes w1, w2 (uplink representor up-w1 / up-w2 for every PF)
//   networks default/accel and default/other (accelerated-bridge), default/mac (macvlan)
//   x/a  w1 rep1  accel 10.0.0.1 fd00::1
//   x/b  w1 rep2  accel 10.0.0.2 fd00::2   (serves "http" = TCP 80)
//   y/c  w2 rep1  accel 10.0.0.3 fd00::3
//   x/d  w1 rep3  other 10.1.0.4           (a network without policies)

import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { buildSnapshot } from '../../../src/cluster/build-snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import type { Flow, L4Protocol, PolicyModel } from '../../../src/policy/types.js';

export const ACCEL = 'default/accel';
export const OTHER = 'default/other';
export const MAC = 'default/mac';
export const PLUGIN = 'accelerated-bridge';

export interface PodDef {
  ns: string;
  name: string;
  node: string;
  network: string;
  ips: string[];
  rep?: string;
  labels?: Record<string, string>;
  ports?: { name: string; containerPort: number; protocol: string }[];
}

export const PODS: PodDef[] = [
  { ns: 'x', name: 'a', node: 'w1', network: ACCEL, ips: ['10.0.0.1', 'fd00::1'], rep: 'rep1' },
  {
    ns: 'x',
    name: 'b',
    node: 'w1',
    network: ACCEL,
    ips: ['10.0.0.2', 'fd00::2'],
    rep: 'rep2',
    ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
  },
  { ns: 'y', name: 'c', node: 'w2', network: ACCEL, ips: ['10.0.0.3', 'fd00::3'], rep: 'rep1' },
  { ns: 'x', name: 'd', node: 'w1', network: OTHER, ips: ['10.1.0.4'], rep: 'rep3' },
];

export function policy(
  ns: string,
  name: string,
  spec: Record<string, unknown>,
  policyFor = ACCEL,
): Record<string, unknown> {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { name, namespace: ns, annotations: { 'k8s.v1.cni.cncf.io/policy-for': policyFor } },
    spec,
  };
}

function podObject(p: PodDef, index: number): Record<string, unknown> {
  const pci: Record<string, string> = { 'pci-address': `0000:03:00.${index + 2}` };
  if (p.rep) pci['representor-device'] = p.rep;
  const status = [
    { name: 'cbr0', interface: 'eth0', ips: [`172.16.0.${index + 1}`], default: true },
    { name: p.network, interface: 'net1', ips: p.ips, 'device-info': { type: 'pci', pci } },
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.ns,
      labels: { pod: p.name, ...p.labels },
      annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) },
    },
    spec: { nodeName: p.node, containers: [{ name: 'main', ports: p.ports ?? [] }] },
    status: { phase: 'Running' },
  };
}

export function clusterObjects(policies: Record<string, unknown>[], pods: PodDef[] = PODS): unknown[] {
  const nad = (name: string, type: string) => ({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace: 'default' },
    spec: { config: JSON.stringify({ cniVersion: '0.3.1', name, type }) },
  });
  const node = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors': `up-${name}` },
    },
  });
  const ns = (name: string, labels: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels },
  });
  return [
    ns('default', {}),
    ns('x', { team: 'blue' }),
    ns('y', { team: 'red' }),
    nad('accel', PLUGIN),
    nad('other', PLUGIN),
    nad('mac', 'macvlan'),
    node('w1'),
    node('w2'),
    ...pods.map(podObject),
    ...policies,
  ];
}

export interface Loaded {
  snapshot: ClusterSnapshot;
  model: PolicyModel;
}

export function load(objects: unknown[]): Loaded {
  const snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
  return { snapshot, model: buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] }) };
}

export function flow(srcIp: string, dstIp: string, protocol: L4Protocol = 'TCP', port?: number): Flow {
  const isPort = protocol === 'TCP' || protocol === 'UDP' || protocol === 'SCTP';
  const network = srcIp.startsWith('10.1.') || dstIp.startsWith('10.1.') ? OTHER : ACCEL;
  return { network, srcIp, dstIp, protocol, ...(isPort ? { port: port ?? 80 } : {}) };
}
