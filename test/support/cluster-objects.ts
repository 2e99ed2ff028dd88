// A small cluster for the cluster-mode tests: one node with two SR-IOV pods on an
// accelerated-bridge network, a client pod elsewhere, and a policy that lets only pods labelled
// role=client reach the server pod. Objects are plain API objects, as the test server stores them.

import type { Obj } from './kube-test-server.js';

export const NODE = 'node-a';
export const NETWORK = 'app/accel-net';

function networkStatus(ip: string, rep: string, vf: number): string {
  return JSON.stringify([
    {
      name: NETWORK,
      interface: 'net1',
      ips: [ip],
      mac: `02:00:00:00:00:${vf.toString(16).padStart(2, '0')}`,
      'device-info': {
        type: 'pci',
        version: '1.1.0',
        pci: {
          'pci-address': `0000:03:00.${vf + 2}`,
          'pf-pci-address': '0000:03:00.0',
          'representor-device': rep,
        },
      },
    },
  ]);
}

export function pod(
  name: string,
  labels: Record<string, string>,
  ip: string,
  rep: string,
  vf: number,
  node = NODE,
): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'app',
      labels,
      annotations: {
        'k8s.v1.cni.cncf.io/networks': 'accel-net',
        'k8s.v1.cni.cncf.io/network-status': networkStatus(ip, rep, vf),
        'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(200),
      },
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } }],
    },
    spec: {
      nodeName: node,
      containers: [
        { name: 'main', image: 'registry.example/app:1', ports: [{ name: 'http', containerPort: 80 }] },
      ],
    },
    status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function smallCluster(): Obj[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app', labels: { team: 'a' } } },
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE,
        annotations: { 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors': 'p0' },
      },
      status: { images: [{ names: ['a'], sizeBytes: 1 }] },
    },
    {
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name: 'accel-net', namespace: 'app' },
      spec: {
        config: JSON.stringify({ cniVersion: '0.3.1', name: 'accel-net', type: 'accelerated-bridge' }),
      },
    },
    pod('server', { role: 'server' }, '192.168.10.1/24', 'eth0_1', 1),
    pod('client', { role: 'client' }, '192.168.10.2/24', 'eth0_2', 2),
    {
      apiVersion: 'k8s.cni.cncf.io/v1beta1',
      kind: 'MultiNetworkPolicy',
      metadata: {
        name: 'only-clients',
        namespace: 'app',
        annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'accel-net' },
      },
      spec: {
        podSelector: { matchLabels: { role: 'server' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
      },
    },
  ];
}
