// Raw Kubernetes objects for the benchmarks: they go through the normal path (buildSnapshot, then
// buildPolicyModel), exactly as manifests or the API server would feed the agent.

import { buildSnapshot } from '../src/cluster/build-snapshot.js';
import type { InformerList } from '../src/cluster/informer-objects.js';
import type { ClusterSnapshot } from '../src/cluster/snapshot.js';
import { buildPolicyModel } from '../src/policy/build-model.js';
import type { ManagedInterface, PolicyModel } from '../src/policy/types.js';
import { compileNode } from '../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../src/tc/compile/options.js';
import type { NodePipeline } from '../src/tc/ir.js';
import { canonical } from '../src/tc/apply/plan-device.js';

export const PLUGIN = 'accelerated-bridge';
export const UPLINK_ANNOTATION = 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors';
export const PF_PCI = '0000:03:00.0';

export type Obj = Record<string, unknown>;
export type Labels = Record<string, string>;

export function namespace(name: string, labels: Labels = {}): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function nad(ns: string, name: string, type = PLUGIN): Obj {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace: ns },
    spec: { config: JSON.stringify({ cniVersion: '0.3.1', name, type }) },
  };
}

export function node(name: string, uplink = 'p0'): Obj {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, annotations: { [UPLINK_ANNOTATION]: uplink } } };
}

export interface IfaceSpec {
  /** "namespace/name" of the NAD. */
  network: string;
  ips: string[];
  /** VF representor netdev on the pod's node (device-info representor-device). */
  representor: string;
  /** VF index on its node, for a plausible PCI address. */
  vf: number;
}

export interface PodSpec {
  ns: string;
  name: string;
  node: string;
  labels: Labels;
  ifaces: IfaceSpec[];
  namedPorts?: { name: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
  uid?: string;
}

function vfPci(vf: number): string {
  // 0000:03:00.2 onwards, 8 functions per device number.
  const n = vf + 2;
  return `0000:03:${Math.floor(n / 8)
    .toString(16)
    .padStart(2, '0')}.${n % 8}`;
}

export function pod(p: PodSpec): Obj {
  const status: Obj[] = [{ name: 'cbr0', interface: 'eth0', ips: ['172.16.0.1'], default: true }];
  p.ifaces.forEach((f, i) => {
    status.push({
      name: f.network,
      interface: `net${i + 1}`,
      ips: f.ips,
      'device-info': {
        type: 'pci',
        version: '1.1.0',
        pci: { 'pci-address': vfPci(f.vf), 'pf-pci-address': PF_PCI, 'representor-device': f.representor },
      },
    });
  });
  const networks = p.ifaces.map((f, i) => `${f.network}@net${i + 1}`).join(', ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.ns,
      uid: p.uid ?? `uid-${p.ns}-${p.name}`,
      labels: p.labels,
      annotations: {
        'k8s.v1.cni.cncf.io/networks': networks,
        'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status),
      },
    },
    spec: {
      nodeName: p.node,
      containers: [
        {
          name: 'main',
          image: 'registry.example.com/app:1',
          ports: (p.namedPorts ?? []).map((x) => ({
            name: x.name,
            containerPort: x.port,
            protocol: x.protocol ?? 'TCP',
          })),
        },
      ],
    },
    status: { phase: 'Running' },
  };
}

export function policy(ns: string, name: string, policyFor: string, spec: Obj, apiVersion = 'v1beta1'): Obj {
  return {
    apiVersion: `k8s.cni.cncf.io/${apiVersion}`,
    kind: 'MultiNetworkPolicy',
    metadata: { name, namespace: ns, annotations: { 'k8s.v1.cni.cncf.io/policy-for': policyFor } },
    spec,
  };
}

export interface Built {
  snapshot: ClusterSnapshot;
  model: PolicyModel;
}

export function build(objects: unknown[]): Built {
  const snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
  const model = buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] });
  return { snapshot, model };
}

export function compile(b: Built, nodeName: string): NodePipeline {
  return compileNode(b.model, nodeName, b.snapshot.nodes.get(nodeName), DEFAULT_COMPILE_OPTIONS);
}

export function findInterface(model: PolicyModel, pod: string, network?: string): ManagedInterface {
  const i = model.interfaces.find((x) => x.pod === pod && (network === undefined || x.network === network));
  if (!i) throw new Error(`no managed interface for ${pod}${network ? ` on ${network}` : ''}`);
  return i;
}

/** Canonical filter set of every device (what planDevice compares), notes ignored. */
function deviceSets(p: NodePipeline): Map<string, Set<string>> {
  return new Map(
    p.devices.map((d) => [
      d.device,
      new Set(
        d.chains.flatMap((c) => c.filters.map((f) => canonical(f, c.index, DEFAULT_COMPILE_OPTIONS.ctZone))),
      ),
    ]),
  );
}

/** Devices whose filter set changed, the filters of their new generations, and the filters that differ. */
export function diffPipelines(a: NodePipeline, b: NodePipeline) {
  const before = deviceSets(a);
  const after = deviceSets(b);
  const devices: string[] = [];
  let rewritten = 0;
  let differ = 0;
  for (const d of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const x = before.get(d) ?? new Set<string>();
    const y = after.get(d) ?? new Set<string>();
    const n = [...x].filter((k) => !y.has(k)).length + [...y].filter((k) => !x.has(k)).length;
    if (n === 0) continue;
    devices.push(d);
    rewritten += y.size;
    differ += n;
  }
  return { devices, rewritten, differ };
}

/** Small deterministic PRNG (mulberry32), so every run builds the same cluster. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** IPv4 text of a 32-bit value. */
export function ipv4(v: number): string {
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

/** A plain-text table with right-aligned numeric columns. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => /^[\d.,×x%-]+$|^-$/.test(String(r[i] ?? ''))));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The objects grouped by kind, as the informers list them, in the kube source's order of informers. */
export function informerLists(objects: Obj[]): InformerList[] {
  const kinds = ['MultiNetworkPolicy', 'NetworkAttachmentDefinition', 'Namespace', 'Node', 'Pod'];
  return kinds.map((kind) => {
    const list = objects.filter((o) => (o as { kind?: string }).kind === kind);
    const apiVersion = (list[0] as { apiVersion?: string } | undefined)?.apiVersion ?? 'v1';
    return { apiVersion, kind, objects: list };
  });
}
