// The Kubernetes NetworkPolicy e2e world as manifests: namespaces x, y, z; pods a, b, c in each
// (label pod=<name>), spread over two nodes; one accelerated-bridge network x/net1; every pod
// serving ports 80 and 81 over TCP, UDP and SCTP with the e2e names (serve-80-tcp, ...).

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NETWORK = 'x/net1';
export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const NODES = ['node-1', 'node-2'] as const;

export interface WorldPod {
  ns: string;
  name: string;
  node: string;
  ipv4: string;
  ipv6: string;
  rep: string;
  mac: string;
}

export interface WorldOptions {
  /** Also give every pod its IPv6 address. */
  ipv6?: boolean;
  /**
   * `flat` (default): every address in 10.1.0.0/24 and fd00:1::/64. `per-namespace`: namespace
   * number k (from 1) in 10.20.k.0/24 and fd00:20:k::/64, so pods of different namespaces share
   * no /24 and no /64.
   */
  layout?: 'flat' | 'per-namespace';
  /**
   * IPAM subnets of the NAD (host-local ranges). Default: 10.1.0.0/24 and fd00:1::/64 for the flat
   * layout (as a real cluster has), none for per-namespace (the lab then routes host by host).
   */
  ipamSubnets?: string[];
}

export function worldPods(opts: WorldOptions = {}): WorldPod[] {
  const pods: WorldPod[] = [];
  let k = 0;
  for (const [nsIndex, ns] of NAMESPACES.entries()) {
    for (const name of POD_NAMES) {
      const n = 10 + k;
      const spread = opts.layout === 'per-namespace';
      pods.push({
        ns,
        name,
        node: NODES[k % 2]!,
        ipv4: spread ? `10.20.${nsIndex + 1}.${n}` : `10.1.0.${n}`,
        ipv6: spread ? `fd00:20:${nsIndex + 1}::${n.toString(16)}` : `fd00:1::${n.toString(16)}`,
        rep: `rep${k}`,
        mac: `02:00:00:00:01:${n.toString(16).padStart(2, '0')}`,
      });
      k++;
    }
  }
  return pods;
}

export function worldObjects(opts: WorldOptions = {}): unknown[] {
  const flat = (opts.layout ?? 'flat') === 'flat';
  const subnets = opts.ipamSubnets ?? (flat ? ['10.1.0.0/24', 'fd00:1::/64'] : []);
  const objs: unknown[] = [];
  for (const ns of NAMESPACES)
    objs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { ns } } });
  objs.push({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'net1', namespace: 'x' },
    spec: {
      config: JSON.stringify({
        cniVersion: '0.3.1',
        name: 'net1',
        type: 'accelerated-bridge',
        bridge: 'br0',
        ...(subnets.length > 0
          ? { ipam: { type: 'host-local', ranges: subnets.map((subnet) => [{ subnet }]) } }
          : {}),
      }),
    },
  });
  for (const node of NODES) {
    objs.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: node,
        annotations: { 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors': 'p0' },
      },
    });
  }
  const pods = worldPods(opts);
  for (const p of pods) {
    const ips = opts.ipv6 ? [p.ipv4, p.ipv6] : [p.ipv4];
    const ports = [];
    for (const port of [80, 81]) {
      for (const protocol of ['TCP', 'UDP', 'SCTP']) {
        ports.push({ name: `serve-${port}-${protocol.toLowerCase()}`, containerPort: port, protocol });
      }
    }
    objs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: p.ns,
        uid: `uid-${p.ns}-${p.name}`,
        labels: { pod: p.name },
        annotations: {
          'k8s.v1.cni.cncf.io/networks': 'x/net1@net1',
          'k8s.v1.cni.cncf.io/network-status': JSON.stringify([
            {
              name: NETWORK,
              interface: 'net1',
              ips,
              mac: p.mac,
              'device-info': {
                type: 'pci',
                version: '1.1.0',
                pci: {
                  'pci-address': `0000:03:00.${2 + (pods.indexOf(p) % 6)}`,
                  'representor-device': p.rep,
                },
              },
            },
          ]),
        },
      },
      spec: { nodeName: p.node, containers: [{ name: 'server', image: 'agnhost', ports }] },
      status: { phase: 'Running' },
    });
  }
  return objs;
}

/** A MultiNetworkPolicy on the world's network. */
export function policy(ns: string, name: string, spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { name, namespace: ns, annotations: { 'k8s.v1.cni.cncf.io/policy-for': NETWORK } },
    spec,
  };
}

/** Writes objects as one JSON manifest file in a fresh directory; returns the directory. */
export async function writeManifests(objects: unknown[], dir?: string): Promise<string> {
  const d = dir ?? (await mkdtemp(join(tmpdir(), 'mnp-manifests-')));
  await writeFile(
    join(d, 'cluster.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 1),
  );
  return d;
}
