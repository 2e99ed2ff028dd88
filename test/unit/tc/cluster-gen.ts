// Random clusters for the property tests: raw Kubernetes objects (Namespaces, NADs, Nodes, Pods with
// network-status, MultiNetworkPolicies) that go through the normal path, buildSnapshot and
// buildPolicyModel, plus flows picked among the generated pod interfaces and external addresses.
//
// Addresses are laid out so that the generated ipBlocks cut through them: network k (1-based) uses
// 10.k.0.<host> and fd00:k::<host>, pod hosts are 1..~50 (random gaps), external hosts 100..254 and
// 192.0.2.0/24 / 2001:db8::/32.

import fc from 'fast-check';
import { buildSnapshot } from '../../../src/cluster/build-snapshot.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import type { Flow, L4Protocol, PolicyModel } from '../../../src/policy/types.js';

export const PLUGIN = 'accelerated-bridge';
export const NAD_NAMESPACE = 'a';
const NAMESPACE_NAMES = ['a', 'b', 'c'] as const;
const NODE_NAMES = ['n1', 'n2', 'n3'] as const;
/** Managed networks first; the unmanaged one (macvlan) is always "a/mac1". */
const MANAGED_NETWORKS = ['net1', 'net2'] as const;
const UNMANAGED_NETWORK = 'mac1';

const POD_LABELS = { app: ['web', 'api', 'db'], tier: ['front', 'back'], role: ['x', 'y'] } as const;
const NS_LABELS = { team: ['red', 'blue'], env: ['prod', 'dev'] } as const;

type Labels = Record<string, string>;

/** Container port templates: fixed name and protocol, the number varies per pod. */
const NAMED_PORTS = [
  { name: 'http', protocol: 'TCP', ports: [80, 8080, 81] },
  { name: 'dns', protocol: 'UDP', ports: [53, 1001] },
  { name: 'dns', protocol: 'TCP', ports: [53] },
  { name: 'db', protocol: 'TCP', ports: [5432, 1002] },
  { name: 'svc', protocol: 'SCTP', ports: [1000, 1004, 1010] },
  { name: 'svc-u', protocol: 'UDP', ports: [1003, 1007] },
] as const;

/** Destination ports flows use: the small fixed set (every named port number is in it). */
export const FLOW_PORTS = [53, 80, 81, 443, 5432, 8080, ...Array.from({ length: 11 }, (_, i) => 1000 + i)];

// ---------------------------------------------------------------------------------------------
// Specs: what the arbitraries generate (indices are taken modulo what exists when materialised).

interface IfaceSpec {
  network: number;
  v6: boolean;
  /** Address gap from the previous interface on the network (1..3). */
  gap: number;
  noRepresentor: boolean;
}

interface PodSpec {
  ns: number;
  labels: Labels;
  node: number;
  finished: boolean;
  ifaces: IfaceSpec[];
  /** One entry per NAMED_PORTS template: undefined (absent) or an index into its ports. */
  named: (number | undefined)[];
}

interface ClusterSpec {
  nodes: number;
  /** Every node names its uplink representor p0 (as the examples and the lab do). */
  sharedUplink: boolean;
  managed: number;
  unmanaged: boolean;
  namespaces: Labels[];
  pods: PodSpec[];
  policies: { ns: number; policyFor: string; spec: Record<string, unknown> }[];
}

function optionalRecord(
  keys: Record<string, readonly string[]>,
  required: string[] = [],
): fc.Arbitrary<Labels> {
  const model: Record<string, fc.Arbitrary<string>> = {};
  for (const [k, vs] of Object.entries(keys)) model[k] = fc.constantFrom(...vs);
  return fc.record(model, { requiredKeys: required }) as fc.Arbitrary<Labels>;
}

function selectorArb(keys: Record<string, readonly string[]>): fc.Arbitrary<Record<string, unknown>> {
  const keyNames = Object.keys(keys);
  const requirement = fc.constantFrom(...keyNames).chain((key) =>
    fc.oneof(
      fc.record({
        key: fc.constant(key),
        operator: fc.constantFrom('In', 'NotIn'),
        values: fc.subarray([...(keys[key] ?? [])], { minLength: 1 }),
      }),
      fc.record({ key: fc.constant(key), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
    ),
  );
  // Mostly one key: selectors that pick a few pods, rarely none.
  const labels = fc
    .oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: keyNames.length - 1 }) },
      { weight: 1, arbitrary: fc.constant(-1) },
    )
    .chain((only) => {
      const picked = only < 0 ? keys : { [keyNames[only]!]: keys[keyNames[only]!]! };
      return optionalRecord(picked).filter((l) => Object.keys(l).length > 0);
    });
  const exprs = fc.array(requirement, { minLength: 1, maxLength: 2 });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({}) },
    { weight: 3, arbitrary: labels.map((matchLabels) => ({ matchLabels })) },
    { weight: 2, arbitrary: exprs.map((matchExpressions) => ({ matchExpressions })) },
    { weight: 1, arbitrary: fc.record({ matchLabels: labels, matchExpressions: exprs }) },
  );
}

/** ipBlocks as [cidr, candidate excepts]; every candidate is strictly inside its cidr. */
function ipBlocks(): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const k of [1, 2]) {
    const n = `10.${k}.0`;
    out.push(
      [`${n}.0/24`, [`${n}.0/28`, `${n}.4/30`, `${n}.16/28`, `${n}.3/32`, `${n}.128/25`]],
      [`${n}.0/28`, [`${n}.4/30`, `${n}.8/29`, `${n}.1/32`, `${n}.6/32`]],
      [`${n}.0/25`, [`${n}.32/27`, `${n}.2/32`]],
      [`${n}.4/30`, [`${n}.5/32`]],
      [`${n}.8/29`, []],
      [`${n}.16/28`, [`${n}.20/30`]],
      [`${n}.2/32`, []],
      [`${n}.5/32`, []],
      [`${n}.9/32`, []],
      [`fd00:${k}::/64`, [`fd00:${k}::/124`, `fd00:${k}::4/126`, `fd00:${k}::3/128`, `fd00:${k}::100/120`]],
      [`fd00:${k}::/124`, [`fd00:${k}::8/125`, `fd00:${k}::2/128`]],
      [`fd00:${k}::4/128`, []],
    );
  }
  out.push(
    ['10.0.0.0/8', ['10.1.0.0/24', '10.2.0.0/28', '10.1.0.7/32']],
    ['0.0.0.0/0', ['10.1.0.0/24', '192.0.2.0/24', '10.2.0.4/32']],
    ['192.0.2.0/24', ['192.0.2.128/25']],
    ['::/0', ['fd00:1::/64', 'fd00:2::/124']],
    ['fd00::/8', ['fd00:2::/64']],
    ['2001:db8::/32', []],
  );
  return out;
}

const IP_BLOCKS = ipBlocks();

const ipBlockArb = fc.integer({ min: 0, max: IP_BLOCKS.length - 1 }).chain((i) => {
  const [cidr, candidates] = IP_BLOCKS[i]!;
  if (candidates.length === 0) return fc.constant({ ipBlock: { cidr } });
  return fc.oneof(
    fc.constant({ ipBlock: { cidr } }),
    fc.subarray(candidates, { minLength: 1 }).map((except) => ({ ipBlock: { cidr, except } })),
  );
});

const peerArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 3, arbitrary: selectorArb(POD_LABELS).map((podSelector) => ({ podSelector })) },
  {
    weight: 2,
    arbitrary: selectorArb({ ...NS_LABELS, 'kubernetes.io/metadata.name': NAMESPACE_NAMES }).map(
      (namespaceSelector) => ({ namespaceSelector }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      podSelector: selectorArb(POD_LABELS),
      namespaceSelector: selectorArb(NS_LABELS),
    }),
  },
  { weight: 3, arbitrary: ipBlockArb },
);

const protocolField = fc.option(fc.constantFrom('TCP', 'UDP', 'SCTP'), { nil: undefined, freq: 3 });

function withProtocol(entry: Record<string, unknown>, protocol: string | undefined): Record<string, unknown> {
  return protocol === undefined ? entry : { ...entry, protocol };
}

const RANGES: [number, number][] = [
  [1000, 1005],
  [1003, 1010],
  [80, 81],
  [53, 80],
  [1, 1024],
  [8000, 8080],
  [5432, 5432],
];

const portEntryArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(53, 80, 81, 443, 5432, 8080, 1000, 1005, 1010), protocolField)
      .map(([port, p]) => withProtocol({ port }, p)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...RANGES), protocolField)
      .map(([[port, endPort], p]) => withProtocol({ port, endPort }, p)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('http', 'dns', 'db', 'svc', 'svc-u', 'nope'), protocolField)
      .map(([port, p]) => withProtocol({ port }, p)),
  },
  { weight: 1, arbitrary: fc.constantFrom('TCP', 'UDP', 'SCTP').map((protocol) => ({ protocol })) },
  { weight: 1, arbitrary: fc.constant({}) },
);

function listField<T>(item: fc.Arbitrary<T>, max: number): fc.Arbitrary<T[] | undefined> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant<T[]>([]) },
    { weight: 5, arbitrary: fc.array(item, { minLength: 1, maxLength: max }) },
  );
}

function ruleArb(peerKey: 'from' | 'to'): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({ peers: listField(peerArb, 3), ports: listField(portEntryArb, 3) })
    .map(({ peers, ports }) => {
      const rule: Record<string, unknown> = {};
      if (peers !== undefined) rule[peerKey] = peers;
      if (ports !== undefined) rule.ports = ports;
      return rule;
    });
}

const policySpecArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    podSelector: fc.oneof(fc.constant({}), selectorArb(POD_LABELS)),
    policyTypes: fc.constantFrom(undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']),
    ingress: fc.option(fc.array(ruleArb('from'), { maxLength: 3 }), { nil: undefined, freq: 4 }),
    egress: fc.option(fc.array(ruleArb('to'), { maxLength: 3 }), { nil: undefined, freq: 2 }),
  })
  .map(({ podSelector, policyTypes, ingress, egress }) => {
    const spec: Record<string, unknown> = { podSelector };
    if (policyTypes !== undefined) spec.policyTypes = policyTypes;
    if (ingress !== undefined) spec.ingress = ingress;
    if (egress !== undefined) spec.egress = egress;
    return spec;
  });

/** policy-for text: qualified names mostly, sometimes bare (only right in the NAD namespace). */
const policyForArb = fc
  .oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([...MANAGED_NETWORKS]) },
    { weight: 3, arbitrary: fc.constantFrom<string[]>(['net1'], ['net2']) },
    { weight: 2, arbitrary: fc.subarray([...MANAGED_NETWORKS, UNMANAGED_NETWORK], { minLength: 1 }) },
  )
  .chain((nets) =>
    fc
      .array(fc.integer({ min: 0, max: 5 }), { minLength: nets.length, maxLength: nets.length })
      .map((bare) => nets.map((n, i) => (bare[i] === 0 ? n : `${NAD_NAMESPACE}/${n}`)).join(',')),
  );

const ifaceArb: fc.Arbitrary<IfaceSpec> = fc.record({
  network: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 1 }) },
    { weight: 1, arbitrary: fc.constant(9) },
  ),
  v6: fc.boolean(),
  gap: fc.integer({ min: 1, max: 3 }),
  noRepresentor: fc.integer({ min: 0, max: 24 }).map((n) => n === 0),
});

const podArb: fc.Arbitrary<PodSpec> = fc.record({
  ns: fc.integer({ min: 0, max: 2 }),
  labels: optionalRecord(POD_LABELS, ['app']),
  node: fc.integer({ min: 0, max: 2 }),
  finished: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  ifaces: fc.array(ifaceArb, { minLength: 1, maxLength: 2 }),
  named: fc.tuple(
    ...NAMED_PORTS.map((t) => fc.option(fc.integer({ min: 0, max: t.ports.length - 1 }), { nil: undefined })),
  ),
});

export const clusterSpecArb: fc.Arbitrary<ClusterSpec> = fc.record({
  nodes: fc.integer({ min: 1, max: 3 }),
  sharedUplink: fc.boolean(),
  managed: fc.integer({ min: 1, max: 2 }),
  unmanaged: fc.boolean(),
  namespaces: fc.array(optionalRecord(NS_LABELS), { minLength: 2, maxLength: 3 }),
  pods: fc.integer({ min: 2, max: 8 }).chain((n) => fc.array(podArb, { minLength: n, maxLength: n })),
  policies: fc
    .constantFrom(0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4)
    .chain((n) =>
      fc.array(
        fc.record({ ns: fc.integer({ min: 0, max: 2 }), policyFor: policyForArb, spec: policySpecArb }),
        { minLength: n, maxLength: n },
      ),
    ),
});

// ---------------------------------------------------------------------------------------------
// Materialising a spec into raw objects.

export interface GenInterface {
  pod: string;
  /** "a/net1" */
  network: string;
  managed: boolean;
  ips: string[];
  node: string;
  representor?: string;
  /** Finished pods keep their network-status but are not enforced (their addresses are external). */
  live: boolean;
  /** The pod's named container ports. */
  namedPorts: { port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
}

export interface GenCluster {
  objects: Record<string, unknown>[];
  interfaces: GenInterface[];
  /** Every network key, managed first. */
  networks: string[];
}

function networkIndex(network: string): number {
  const name = network.split('/')[1]!;
  return name === UNMANAGED_NETWORK ? 9 : MANAGED_NETWORKS.indexOf(name as 'net1') + 1;
}

/** Addresses on a network that belong to no pod, by family. */
export function externals(network: string, family: 4 | 6): string[] {
  const k = networkIndex(network);
  return family === 4
    ? [`10.${k}.0.100`, `10.${k}.0.130`, `10.${k}.0.254`, '192.0.2.10', '192.0.2.200', '8.8.8.8', '10.9.9.9']
    : [`fd00:${k}::100`, `fd00:${k}::1ff`, 'fd00:7::1', '2001:db8::1', '2001:db8:1::53'];
}

export function materialize(spec: ClusterSpec): GenCluster {
  const objects: Record<string, unknown>[] = [];
  const nsNames = NAMESPACE_NAMES.slice(0, spec.namespaces.length);
  spec.namespaces.forEach((labels, i) =>
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsNames[i], labels } }),
  );
  const networks = MANAGED_NETWORKS.slice(0, spec.managed).map((n) => `${NAD_NAMESPACE}/${n}`);
  if (spec.unmanaged) networks.push(`${NAD_NAMESPACE}/${UNMANAGED_NETWORK}`);
  for (const net of networks) {
    const name = net.split('/')[1]!;
    const type = name === UNMANAGED_NETWORK ? 'macvlan' : PLUGIN;
    objects.push({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: { name, namespace: NAD_NAMESPACE },
      spec: { config: JSON.stringify({ cniVersion: '0.3.1', name, type }) },
    });
  }
  const nodes = NODE_NAMES.slice(0, spec.nodes);
  for (const node of nodes) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: node,
        annotations: {
          'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors': spec.sharedUplink
            ? 'p0'
            : `up-${node}`,
        },
      },
    });
  }
  const hostCounter = new Map<string, number>();
  const vfCounter = new Map<string, number>();
  const interfaces: GenInterface[] = [];
  spec.pods.forEach((p, podIndex) => {
    const namespace = nsNames[p.ns % nsNames.length]!;
    const name = `p${podIndex}`;
    const node = nodes[p.node % nodes.length]!;
    const ports: Record<string, unknown>[] = [];
    p.named.forEach((choice, t) => {
      const tpl = NAMED_PORTS[t]!;
      if (choice !== undefined)
        ports.push({ name: tpl.name, containerPort: tpl.ports[choice], protocol: tpl.protocol });
    });
    const namedPorts = ports.map((x) => ({
      port: x.containerPort as number,
      protocol: x.protocol as 'TCP' | 'UDP' | 'SCTP',
    }));
    const status: Record<string, unknown>[] = [
      { name: 'cbr0', interface: 'eth0', ips: [`172.16.0.${podIndex + 1}`], default: true },
    ];
    p.ifaces.forEach((f, i) => {
      // Index 9 stands for "the unmanaged network" (falls back to a managed one when absent).
      const network =
        f.network === 9 && spec.unmanaged
          ? networks[networks.length - 1]!
          : networks[f.network % spec.managed]!;
      const k = networkIndex(network);
      const host = (hostCounter.get(network) ?? 0) + f.gap;
      hostCounter.set(network, host);
      const ips = [`10.${k}.0.${host}`];
      if (f.v6) ips.push(`fd00:${k}::${host.toString(16)}`);
      // Counted per node: every node has its own rep0, rep1, ... as real nodes do.
      const vf = vfCounter.get(node) ?? 0;
      vfCounter.set(node, vf + 1);
      const representor = f.noRepresentor ? undefined : `rep${vf}`;
      const pci: Record<string, string> = {
        'pci-address': `0000:03:${(1 + Math.floor(vf / 8)).toString(16).padStart(2, '0')}.${vf % 8}`,
        'pf-pci-address': '0000:03:00.0',
      };
      if (representor) pci['representor-device'] = representor;
      status.push({
        name: network,
        interface: `net${i + 1}`,
        ips: ips.map((ip, j) => (j === 0 && host % 2 === 0 ? `${ip}/24` : ip)),
        mac: `02:00:00:00:${podIndex.toString(16).padStart(2, '0')}:0${i}`,
        'device-info': { type: 'pci', version: '1.1.0', pci },
      });
      interfaces.push({
        pod: `${namespace}/${name}`,
        network,
        managed: !network.endsWith(`/${UNMANAGED_NETWORK}`),
        ips,
        node,
        ...(representor ? { representor } : {}),
        live: !p.finished,
        namedPorts,
      });
    });
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        uid: `uid-${podIndex}`,
        labels: p.labels,
        annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) },
      },
      spec: { nodeName: node, containers: [{ name: 'main', ports }] },
      status: { phase: p.finished ? 'Succeeded' : 'Running' },
    });
  });
  spec.policies.forEach((pol, i) => {
    objects.push({
      apiVersion: 'k8s.cni.cncf.io/v1beta1',
      kind: 'MultiNetworkPolicy',
      metadata: {
        name: `pol${i}`,
        namespace: nsNames[pol.ns % nsNames.length],
        annotations: { 'k8s.v1.cni.cncf.io/policy-for': pol.policyFor },
      },
      spec: pol.spec,
    });
  });
  return { objects, interfaces, networks };
}

export const clusterArb: fc.Arbitrary<GenCluster> = clusterSpecArb.map(materialize);

export interface Built {
  snapshot: ClusterSnapshot;
  model: PolicyModel;
}

export function build(objects: unknown[]): Built {
  const snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
  const model = buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] });
  return { snapshot, model };
}

// ---------------------------------------------------------------------------------------------
// Flows.

export interface FlowPick {
  kind: 'pair' | 'in' | 'out';
  /** Use one of the destination pod's named ports (port and protocol) when it has any. */
  named: boolean;
  a: number;
  b: number;
  family: 4 | 6;
  protocol: L4Protocol;
  port: number;
}

export const flowPickArb: fc.Arbitrary<FlowPick> = fc.record({
  kind: fc.constantFrom('pair', 'pair', 'pair', 'in', 'out'),
  named: fc.boolean(),
  a: fc.nat(1000),
  b: fc.nat(1000),
  family: fc.constantFrom(4, 4, 6),
  protocol: fc.constantFrom('TCP', 'TCP', 'UDP', 'SCTP', 'ICMP'),
  port: fc.nat(FLOW_PORTS.length - 1),
});

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** A concrete flow for a pick, or undefined when the cluster has nothing that fits. */
export function resolveFlow(c: GenCluster, pick: FlowPick): Flow | undefined {
  const withIps = c.interfaces.filter((i) => i.ips.length > 0);
  let network: string;
  let srcIp: string;
  let dstIp: string;
  if (pick.kind === 'pair') {
    const pairs: [string, string, string][] = [];
    for (const fam of [pick.family, pick.family === 4 ? 6 : 4] as const) {
      for (const x of withIps) {
        for (const y of withIps) {
          if (x === y || x.network !== y.network) continue;
          const xs = x.ips.find((ip) => familyOf(ip) === fam);
          const ys = y.ips.find((ip) => familyOf(ip) === fam);
          if (xs && ys) pairs.push([x.network, xs, ys]);
        }
      }
      if (pairs.length > 0) break;
    }
    if (pairs.length === 0) return undefined;
    [network, srcIp, dstIp] = pairs[pick.a % pairs.length]!;
  } else {
    if (withIps.length === 0) return undefined;
    const itf = withIps[pick.a % withIps.length]!;
    const own = itf.ips.find((ip) => familyOf(ip) === pick.family) ?? itf.ips[0]!;
    const ext = externals(itf.network, familyOf(own));
    const other = ext[pick.b % ext.length]!;
    network = itf.network;
    [srcIp, dstIp] = pick.kind === 'in' ? [other, own] : [own, other];
  }
  const fam = familyOf(srcIp);
  const dstNamed = ownerOf(c, network, dstIp)?.namedPorts ?? [];
  if (pick.named && dstNamed.length > 0) {
    const np = dstNamed[pick.b % dstNamed.length]!;
    return { network, srcIp, dstIp, protocol: np.protocol, port: np.port };
  }
  if (pick.protocol === 'ICMP') return { network, srcIp, dstIp, protocol: fam === 4 ? 'ICMP' : 'ICMPv6' };
  return { network, srcIp, dstIp, protocol: pick.protocol, port: FLOW_PORTS[pick.port]! };
}

/** The generated interface that owns `ip` on `network` (live pods only). */
export function ownerOf(c: GenCluster, network: string, ip: string): GenInterface | undefined {
  return c.interfaces.find((i) => i.live && i.network === network && i.ips.includes(ip));
}
