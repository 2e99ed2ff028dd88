// Filter count: upstream multi-networkpolicy-tc (egress only, stateless; exact formula in
// upstream-count.ts) against this project (both directions, stateful) for the same policy sets.
//
//   make build && node build/bench/filter-count.js
//
// Every scenario is a cluster of raw objects that goes through buildSnapshot and buildPolicyModel,
// then compileNode for the benchmarked node. "ours VF" is kernelFilterCount of the selected pod's
// VF representor (IR filters + the entry filter), "ours uplink" that of the node's uplink (which
// upstream does not program at all: it enforces no ingress).

import { pathToFileURL } from 'node:url';
import { loadSnapshotFromDir } from '../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../src/policy/build-model.js';
import type { ManagedInterface } from '../src/policy/types.js';
import type { DevicePipeline } from '../src/tc/ir.js';
import { kernelFilterCount } from '../src/tc/render/render-tc.js';
import {
  build,
  compile,
  findInterface,
  ipv4,
  nad,
  namespace,
  node,
  PLUGIN,
  pod,
  policy,
  table,
  type Built,
  type Obj,
} from './cluster.js';
import { upstreamFilterCount } from './upstream-count.js';

const NS = 'bench';
const NET = `${NS}/net1`;
const BENCH_NODE = 'node-a';

interface Scenario {
  name: string;
  what: string;
  built: Built;
  node: string;
  /** The pod whose VF is compared ("ns/name"). */
  pod: string;
  network: string;
}

/** Peer k's address: odd hosts in 10.10.0.0/16, so no two peers are adjacent (no prefix merging). */
function peerIp(k: number): string {
  return ipv4((10 << 24) | (10 << 16) | ((1 + (k >> 7)) << 8) | (2 * (k & 127) + 1));
}

/**
 * The base cluster: namespace `bench`, network bench/net1, the benchmarked node `node-a` (uplink
 * p0) with the client pod (VF vf0) and three other local pods, and `node-b` with the peer pods
 * (role=<group>, VFs on node-b).
 */
function baseCluster(peers: { group: string; count: number; dualStack?: boolean }[]): Obj[] {
  const objects: Obj[] = [
    namespace(NS, { team: 'blue' }),
    nad(NS, 'net1', PLUGIN),
    node(BENCH_NODE),
    node('node-b'),
    pod({
      ns: NS,
      name: 'client',
      node: BENCH_NODE,
      labels: { app: 'client' },
      ifaces: [{ network: NET, ips: ['10.10.0.2', 'fd00:10::2'], representor: 'vf0', vf: 0 }],
    }),
  ];
  for (let i = 1; i <= 3; i++) {
    objects.push(
      pod({
        ns: NS,
        name: `local-${i}`,
        node: BENCH_NODE,
        labels: { app: 'other' },
        ifaces: [{ network: NET, ips: [`10.10.0.${2 + 2 * i}`], representor: `vf${i}`, vf: i }],
      }),
    );
  }
  let k = 0;
  for (const g of peers) {
    for (let i = 0; i < g.count; i++, k++) {
      const ips = [peerIp(k)];
      if (g.dualStack) ips.push(`fd00:10::1:${(2 * k + 1).toString(16)}`);
      objects.push(
        pod({
          ns: NS,
          name: `${g.group}-${i}`,
          node: 'node-b',
          labels: { app: 'server', role: g.group },
          ifaces: [{ network: NET, ips, representor: `vf${k}`, vf: k }],
        }),
      );
    }
  }
  return objects;
}

/** Typical, non-adjacent service ports (adjacent ones would merge into one dst_port range). */
const SERVICE_PORTS = [80, 443, 3306, 5432, 6379, 8080, 8443, 9090, 9200, 27017];

function tcpPorts(n: number): Obj[] {
  return SERVICE_PORTS.slice(0, n).map((port) => ({ protocol: 'TCP', port }));
}

function egressPolicy(name: string, to: Obj[], ports: Obj[] | undefined, podSelector: Obj = {}): Obj {
  const rule: Obj = { to };
  if (ports) rule.ports = ports;
  return policy(NS, name, 'net1', {
    podSelector: Object.keys(podSelector).length ? podSelector : { matchLabels: { app: 'client' } },
    policyTypes: ['Egress'],
    egress: [rule],
  });
}

function peersByRole(role: string): Obj[] {
  return [{ podSelector: { matchLabels: { role } } }];
}

function scenario(name: string, what: string, objects: Obj[]): Scenario {
  return { name, what, built: build(objects), node: BENCH_NODE, pod: `${NS}/client`, network: NET };
}

async function scenarios(): Promise<Scenario[]> {
  const out: Scenario[] = [];
  const snapshot = await loadSnapshotFromDir('examples/manifests');
  out.push({
    name: 'small',
    what: 'examples/manifests, node worker-1, pod app/frontend',
    built: { snapshot, model: buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] }) },
    node: 'worker-1',
    pod: 'app/frontend',
    network: 'app/accel-net',
  });
  out.push(
    scenario('default deny', 'podSelector {}, policyTypes Ingress+Egress, no rules', [
      ...baseCluster([{ group: 'peer', count: 10 }]),
      policy(NS, 'deny-all', 'net1', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    ]),
  );
  for (const [peers, ports] of [
    [10, 10],
    [20, 10],
    [50, 5],
  ] as const) {
    out.push(
      scenario(
        `${peers} peers x ${ports} ports`,
        `one egress rule: podSelector matching ${peers} pods, ${ports} TCP ports`,
        [
          ...baseCluster([{ group: 'peer', count: peers }]),
          egressPolicy('egress', peersByRole('peer'), tcpPorts(ports)),
        ],
      ),
    );
  }
  out.push(
    scenario('20 peers x 10 ports, dual stack', 'as above, every peer also has an IPv6 address', [
      ...baseCluster([{ group: 'peer', count: 20, dualStack: true }]),
      egressPolicy('egress', peersByRole('peer'), tcpPorts(10)),
    ]),
  );
  out.push(
    scenario('ipBlocks with excepts x ports', '5 ipBlocks 10.2x.0.0/16, each except two /24, 5 TCP ports', [
      ...baseCluster([{ group: 'peer', count: 10 }]),
      egressPolicy(
        'egress',
        [0, 1, 2, 3, 4].map((k) => ({
          ipBlock: { cidr: `10.${20 + k}.0.0/16`, except: [`10.${20 + k}.1.0/24`, `10.${20 + k}.7.0/24`] },
        })),
        tcpPorts(5),
      ),
    ]),
  );
  out.push(
    scenario(
      'stacked policies',
      '4 egress policies (2 overlapping on 10 peers, 10 DNS peers, an ipBlock) + 1 ingress policy',
      [
        ...baseCluster([
          { group: 'web', count: 10 },
          { group: 'dns', count: 10 },
        ]),
        egressPolicy('to-web', peersByRole('web'), [
          { protocol: 'TCP', port: 80 },
          { protocol: 'TCP', port: 443 },
        ]),
        egressPolicy('to-web-alt', peersByRole('web'), [
          { protocol: 'TCP', port: 80 },
          { protocol: 'TCP', port: 8080 },
        ]),
        egressPolicy('to-dns', peersByRole('dns'), [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ]),
        egressPolicy(
          'to-partner',
          [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }],
          [{ protocol: 'TCP', port: 443 }],
        ),
        policy(NS, 'from-web', 'net1', {
          podSelector: { matchLabels: { app: 'client' } },
          policyTypes: ['Ingress'],
          ingress: [{ from: peersByRole('web'), ports: [{ protocol: 'TCP', port: 8443 }] }],
        }),
      ],
    ),
  );
  return out;
}

/** Where a device's filters are: the fixed part (classify, state, entry) and the rest. */
function breakdown(d: DevicePipeline | undefined) {
  const chain = (i: number) => d?.chains.find((c) => c.index === i)?.filters ?? [];
  const classify = chain(0);
  const nd = classify.filter((f) => f.match.icmpType !== undefined).length;
  const unclassified = classify.filter((f) => f.actions.some((a) => a.kind === 'drop')).length;
  const conntrack = classify.filter((f) => f.actions.some((a) => a.kind === 'goto')).length;
  const catchAll = classify.filter((f) => f.protocol === 'all' && Object.keys(f.match).length === 0).length;
  const state = chain(1).length;
  const entry = d && d.chains.length > 0 ? 1 : 0;
  const fresh = chain(2).length;
  const other = (d?.chains ?? []).filter((c) => c.index > 2);
  return {
    nd,
    unclassified,
    conntrack,
    catchAll,
    classify: classify.length,
    state,
    entry,
    fixed: classify.length + state + entry,
    fresh,
    otherChains: other.length,
    otherFilters: other.reduce((n, c) => n + c.filters.length, 0),
  };
}

/** The worked example of the upstream research (section 2): upstream renders 12 filters. */
function upstreamSelfCheck(): number {
  const objects: Obj[] = [
    namespace('app'),
    nad('app', 'accel-net'),
    node('n1'),
    pod({
      ns: 'app',
      name: 'x',
      node: 'n1',
      labels: { app: 'x' },
      ifaces: [{ network: 'app/accel-net', ips: ['192.168.10.2'], representor: 'vf0', vf: 0 }],
    }),
    ...[11, 12].map((h, i) =>
      pod({
        ns: 'app',
        name: `db-${i}`,
        node: 'n1',
        labels: { role: 'db' },
        ifaces: [{ network: 'app/accel-net', ips: [`192.168.10.${h}`], representor: `vf${h}`, vf: h }],
      }),
    ),
    policy('app', 'p', 'accel-net', {
      podSelector: { matchLabels: { app: 'x' } },
      egress: [
        { to: [{ podSelector: { matchLabels: { role: 'db' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
        { to: [{ ipBlock: { cidr: '10.10.0.0/16', except: ['10.10.5.0/24'] } }] },
      ],
    }),
  ];
  const b = build(objects);
  return upstreamFilterCount(b.snapshot, b.model, findInterface(b.model, 'app/x'));
}

export async function runFilterCount(): Promise<void> {
  console.log('== filter count: upstream (egress only, stateless) vs ours (ingress + egress, stateful)\n');
  const rows: (string | number)[][] = [];
  const detail: (string | number)[][] = [];
  let overhead: ReturnType<typeof breakdown> | undefined;
  for (const s of await scenarios()) {
    const iface: ManagedInterface = findInterface(s.built.model, s.pod, s.network);
    const pipeline = compile(s.built, s.node);
    const vf = pipeline.devices.find((d) => d.device === iface.representor);
    const uplink = pipeline.devices.find((d) => d.kind === 'uplink');
    const up = upstreamFilterCount(s.built.snapshot, s.built.model, iface);
    const ours = vf ? kernelFilterCount(vf) : 0;
    const ratio = up > 0 ? ours / up : NaN;
    const target = up < 100 ? 'n/a (<100)' : ratio <= 0.5 ? 'met' : 'MISSED';
    rows.push([
      s.name,
      up,
      ours,
      uplink ? kernelFilterCount(uplink) : 0,
      Number.isNaN(ratio) ? '-' : ratio.toFixed(2),
      target,
    ]);
    const b = breakdown(vf);
    overhead ??= b.fixed > 0 ? b : undefined;
    detail.push([s.name, b.fixed, b.fresh, b.otherChains, b.otherFilters, ours]);
  }
  console.log(
    table(
      ['scenario', 'upstream/if', 'ours VF', 'ours uplink', 'VF/upstream', 'target ≤0.5 if up≥100'],
      rows,
    ),
  );
  console.log('\nWhere the VF filters are:');
  console.log(
    table(
      [
        'scenario',
        'fixed (chains +0,+1, entry)',
        'chain +2 (new)',
        'port/src chains',
        'their filters',
        'ours VF',
      ],
      detail,
    ),
  );
  if (overhead) {
    console.log(
      `\nFixed overhead of every filtered device: ${overhead.fixed} filters = classify chain ${overhead.classify}` +
        ` (IPv6 neighbour discovery passes ${overhead.nd}: ICMPv6 types 133-137 as 3 masked matches x untagged/802.1Q/QinQ;` +
        ` unclassified-tag drops ${overhead.unclassified}; conntrack entry ${overhead.conntrack}:` +
        ` one per IP frame shape, 2 families x untagged/802.1Q/QinQ; catch-all pass ${overhead.catchAll})` +
        ` + state chain ${overhead.state} (+est, +rel, +new, invalid drop) + entry filter ${overhead.entry}.`,
    );
  }
  console.log(
    'Chain +2 holds the fewest longest-prefix rules for the address map (src/tc/compile/chains/prefix-rules.ts), each\n' +
      'one filter per frame shape (untagged, 802.1Q, QinQ); ports cost one filter per frame shape in a\n' +
      'port chain shared by every prefix with the same ports, ending in a drop. So N scattered IPv4 peers\n' +
      'x P scattered ports cost 3N + 3P + 30 filters (28 fixed, 1 port-chain drop, 1 final drop) instead\n' +
      'of upstream 2NP + 4, which ignores QinQ, ingress and state. An ipBlock except is one longer\n' +
      'prefix (a hole) before its CIDR: 5 neighbouring /16s minus two /24 each are 12 prefixes\n' +
      '(10.20.0.0/14, 10.24.0.0/16 and 10 holes).\n' +
      'Where we lose: with few ports per peer, upstream pays 2 filters per address and port, we pay 3\n' +
      'per prefix plus the fixed 28 of every device ("stacked policies": 2 ports per peer group).',
  );
  console.log(
    `\nupstream-count self-check: the research's worked example gives ${upstreamSelfCheck()} (doc: 12)`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runFilterCount().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
