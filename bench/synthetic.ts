// A synthetic cluster of raw objects at scale, for the compile-time and lab benchmarks.
//
// Shape (all deterministic from the seed):
// - namespaces ns-00.. with labels team (red/blue/green/yellow), env (prod/staging/dev) and
//   sometimes monitoring=enabled;
// - networks sriov/accel-a and sriov/accel-b (accelerated-bridge) and sriov/mac (macvlan, unmanaged);
// - pods: every pod on accel-a (15 % dual stack), 20 % also on accel-b, 5 % also on the macvlan
//   network; labels app (12 apps per namespace), tier (from the app), version, pod-template-hash;
//   named container ports by app (http, grpc, postgres, redis, amqp, metrics);
// - nodes: the benchmarked node `node-000` gets about `localInterfaces` managed interfaces (each
//   with its own VF representor eth<k>), the rest spread round-robin over `otherNodes` nodes;
//   every node has the uplink annotation (p0);
// - addresses: sequential per network with small random gaps (10.128.0.0/14, 10.200.0.0/16,
//   fd00:a::/64), as an IPAM range hands them out;
// - policies, spread over the namespaces: default-deny ingress, ingress from an app (numeric or
//   named port), from a team's web tier (namespaceSelector + podSelector), egress to db/cache/DNS,
//   matchExpressions (In, NotIn, Exists: scraping by the metrics pods), ipBlocks with excepts (ingress from a partner range,
//   egress to the internet minus RFC 1918), both directions with an endPort range, and policies for
//   both networks.

import {
  ipv4,
  nad,
  namespace,
  node,
  pick,
  pod,
  policy,
  rng,
  type IfaceSpec,
  type Labels,
  type Obj,
} from './cluster.js';

export interface SynthOptions {
  pods: number;
  policies: number;
  /** Managed interfaces (VF representors) wanted on the benchmarked node. */
  localInterfaces: number;
  otherNodes: number;
  namespaces: number;
  seed: number;
  /** VF representor names are <prefix><k> (default "eth"). */
  representorPrefix?: string;
}

export interface Synth {
  objects: Obj[];
  node: string;
  /** Index in `objects` of every pod on the benchmarked node, by "ns/name". */
  localPods: Map<string, number>;
}

export const BENCH_NODE = 'node-000';
const NETS = { a: 'sriov/accel-a', b: 'sriov/accel-b', mac: 'sriov/mac' } as const;

const APPS = [
  'frontend',
  'gateway',
  'api',
  'auth',
  'search',
  'billing',
  'db',
  'cache',
  'queue',
  'worker',
  'reports',
  'metrics',
] as const;
type App = (typeof APPS)[number];

const TIER: Record<App, string> = {
  frontend: 'web',
  gateway: 'web',
  api: 'backend',
  auth: 'backend',
  search: 'backend',
  billing: 'backend',
  db: 'data',
  cache: 'data',
  queue: 'data',
  worker: 'batch',
  reports: 'batch',
  metrics: 'ops',
};

const NAMED: Record<App, { name: string; port: number }[]> = {
  frontend: [{ name: 'http', port: 8080 }],
  gateway: [{ name: 'http', port: 8443 }],
  api: [
    { name: 'http', port: 8080 },
    { name: 'grpc', port: 9090 },
  ],
  auth: [{ name: 'http', port: 8000 }],
  search: [{ name: 'http', port: 9200 }],
  billing: [{ name: 'grpc', port: 9091 }],
  db: [{ name: 'postgres', port: 5432 }],
  cache: [{ name: 'redis', port: 6379 }],
  queue: [{ name: 'amqp', port: 5672 }],
  worker: [],
  reports: [{ name: 'http', port: 8081 }],
  metrics: [{ name: 'metrics', port: 9100 }],
};

/** Which app a pod of a namespace plays; apps are not equally common. */
const APP_WEIGHTS: App[] = [
  ...Array<App>(3).fill('frontend'),
  'gateway',
  ...Array<App>(4).fill('api'),
  'auth',
  'search',
  'billing',
  ...Array<App>(2).fill('db'),
  ...Array<App>(2).fill('cache'),
  'queue',
  ...Array<App>(3).fill('worker'),
  'reports',
  'metrics',
];

/** The lab's 100-representor node (lab-apply.ts (b)/(c), same-pipeline.ts): 300 pods, 30 policies. */
export const LAB_100_DEVICES: SynthOptions = {
  pods: 300,
  policies: 30,
  localInterfaces: 100,
  otherNodes: 4,
  namespaces: 5,
  seed: 7,
  representorPrefix: 'lr',
};

export function synthesize(o: SynthOptions): Synth {
  const r = rng(o.seed);
  const objects: Obj[] = [];
  const nsNames = Array.from({ length: o.namespaces }, (_, i) => `ns-${String(i).padStart(2, '0')}`);
  const teams = ['red', 'blue', 'green', 'yellow'];
  const envs = ['prod', 'staging', 'dev'];
  nsNames.forEach((ns, i) => {
    const labels: Labels = { team: teams[i % teams.length]!, env: envs[i % envs.length]! };
    if (i % 3 === 0) labels.monitoring = 'enabled';
    objects.push(namespace(ns, labels));
  });
  objects.push(namespace('sriov'));
  objects.push(nad('sriov', 'accel-a'), nad('sriov', 'accel-b'), nad('sriov', 'mac', 'macvlan'));
  const nodeNames = [
    BENCH_NODE,
    ...Array.from({ length: o.otherNodes }, (_, i) => `node-${String(i + 1).padStart(3, '0')}`),
  ];
  for (const n of nodeNames) objects.push(node(n));

  const vfCount = new Map<string, number>();
  const nextVf = (n: string) => {
    const v = vfCount.get(n) ?? 0;
    vfCount.set(n, v + 1);
    return v;
  };
  let hostA = 10; // 10.128.0.0/14
  let hostB = 10; // 10.200.0.0/16
  let hostMac = 10;
  let localInterfaces = 0;
  let other = 0;
  const localPods = new Map<string, number>();
  for (let i = 0; i < o.pods; i++) {
    const ns = nsNames[i % nsNames.length]!;
    const app = pick(r, APP_WEIGHTS);
    const name = `${app}-${i.toString(36)}`;
    const onB = r() < 0.2;
    const dual = r() < 0.15;
    const onMac = r() < 0.05;
    const managed = 1 + (onB ? 1 : 0);
    let nodeName: string;
    if (
      localInterfaces + managed <= o.localInterfaces &&
      i % Math.max(1, Math.floor(o.pods / o.localInterfaces)) === 0
    ) {
      nodeName = BENCH_NODE;
      localInterfaces += managed;
    } else {
      nodeName = nodeNames[1 + (other++ % o.otherNodes)]!;
    }
    hostA += 1 + Math.floor(r() * 3);
    const ipsA = [ipv4((10 << 24) | (128 << 16) | hostA)];
    if (dual) ipsA.push(`fd00:a::${hostA.toString(16)}`);
    const ifaces: IfaceSpec[] = [{ network: NETS.a, ips: ipsA, representor: '', vf: 0 }];
    if (onB) {
      hostB += 1 + Math.floor(r() * 3);
      ifaces.push({ network: NETS.b, ips: [ipv4((10 << 24) | (200 << 16) | hostB)], representor: '', vf: 0 });
    }
    if (onMac) {
      hostMac += 1;
      ifaces.push({
        network: NETS.mac,
        ips: [ipv4((10 << 24) | (210 << 16) | hostMac)],
        representor: '',
        vf: 0,
      });
    }
    for (const f of ifaces) {
      f.vf = nextVf(nodeName);
      f.representor = `${o.representorPrefix ?? 'eth'}${f.vf}`;
    }
    const labels: Labels = {
      app,
      tier: TIER[app],
      version: r() < 0.7 ? 'v1' : 'v2',
      'pod-template-hash': Math.floor(r() * 0xffffff).toString(16),
    };
    if (r() < 0.3) labels.monitoring = 'scrape';
    if (nodeName === BENCH_NODE) localPods.set(`${ns}/${name}`, objects.length);
    objects.push(
      pod({
        ns,
        name,
        node: nodeName,
        labels,
        ifaces,
        namedPorts: [...NAMED[app], ...(app === 'metrics' ? [] : [{ name: 'metrics', port: 9100 }])],
      }),
    );
  }

  const policyFor = () => {
    const x = r();
    return x < 0.85 ? NETS.a : x < 0.95 ? `${NETS.a}, ${NETS.b}` : NETS.b;
  };
  const appSel = (app: string) => ({ matchLabels: { app } });
  const portOf = (app: App) => {
    const named = NAMED[app];
    if (named.length > 0 && r() < 0.5) return { protocol: 'TCP', port: pick(r, named).name };
    return { protocol: 'TCP', port: named[0]?.port ?? 8080 };
  };
  for (let i = 0; i < o.policies; i++) {
    const ns = nsNames[i % nsNames.length]!;
    const round = Math.floor(i / nsNames.length);
    const target = pick(r, APPS);
    const from = pick(r, APPS);
    const name = `pol-${i}`;
    let spec: Obj;
    const kind = round === 0 && i % 2 === 0 ? -1 : Math.floor(r() * 100);
    if (kind < 0) {
      spec = { podSelector: {}, policyTypes: ['Ingress'] };
    } else if (kind < 35) {
      spec = {
        podSelector: appSel(target),
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: appSel(from) }], ports: [portOf(target)] }],
      };
    } else if (kind < 50) {
      spec = {
        podSelector: appSel(target),
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: pick(r, teams) } },
                podSelector: { matchLabels: { tier: 'web' } },
              },
            ],
            ports: [portOf(target), { protocol: 'TCP', port: 443 }],
          },
        ],
      };
    } else if (kind < 65) {
      spec = {
        podSelector: appSel(target),
        policyTypes: ['Egress'],
        egress: [
          { to: [{ podSelector: appSel('db') }], ports: [{ protocol: 'TCP', port: 5432 }] },
          { to: [{ podSelector: appSel('cache') }], ports: [{ protocol: 'TCP', port: 'redis' }] },
          {
            to: [{ ipBlock: { cidr: '10.96.0.10/32' } }],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      };
    } else if (kind < 75) {
      spec = {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'data'] }] },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] },
                podSelector: {
                  matchLabels: { app: 'metrics' },
                  matchExpressions: [{ key: 'monitoring', operator: 'Exists' }],
                },
              },
            ],
            ports: [{ protocol: 'TCP', port: 'metrics' }],
          },
        ],
      };
    } else if (kind < 85) {
      spec = {
        podSelector: appSel(target),
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.100.0/24'] } }],
            ports: [portOf(target)],
          },
        ],
        egress: [
          {
            to: [
              { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } },
            ],
            ports: [{ protocol: 'TCP', port: 443 }],
          },
          { to: [{ podSelector: appSel(from) }] },
        ],
      };
    } else if (kind < 95) {
      spec = {
        podSelector: { matchLabels: { app: target, version: 'v1' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ podSelector: appSel(from) }, { podSelector: appSel('gateway') }],
            ports: [portOf(target)],
          },
        ],
        egress: [
          {
            to: [{ podSelector: appSel(pick(r, APPS)) }],
            ports: [{ protocol: 'TCP', port: 30000, endPort: 30100 }],
          },
          {
            to: [{ namespaceSelector: { matchLabels: { team: pick(r, teams) } } }],
            ports: [{ protocol: 'UDP', port: 4789 }],
          },
        ],
      };
    } else {
      spec = {
        podSelector: appSel(target),
        ingress: [{ from: [{ podSelector: {} }] }],
      };
    }
    objects.push(policy(ns, name, policyFor(), spec, kind >= 85 && kind < 95 ? 'v1beta2' : 'v1beta1'));
  }
  return { objects, node: BENCH_NODE, localPods };
}

/** A copy of the object list where one pod's `app` label (and tier) changed. */
export function withLabelChange(objects: Obj[], index: number, app: string): Obj[] {
  return withLabels(objects, index, { app, tier: TIER[app as App] ?? 'other' });
}

/** A copy of the object list where one pod got these labels on top of its own. */
export function withLabels(objects: Obj[], index: number, labels: Labels): Obj[] {
  const out = objects.slice();
  const p = structuredClone(objects[index]!) as { metadata: { labels: Labels } };
  p.metadata.labels = { ...p.metadata.labels, ...labels };
  out[index] = p as unknown as Obj;
  return out;
}

/** compile-time.ts's cluster: 5,000 pods × 500 policies (seed 42), 100 managed interfaces on node-000. */
export const COMPILE_TIME_CLUSTER: SynthOptions = {
  pods: 5000,
  policies: 500,
  localInterfaces: 100,
  otherNodes: 50,
  namespaces: 20,
  seed: 42,
};

/** The lab's event-to-rules cluster (lab-apply.ts (d)): COMPILE_TIME_CLUSTER, representors named lr<k> as in the lab. */
export const LAB_5000_PODS: SynthOptions = { ...COMPILE_TIME_CLUSTER, representorPrefix: 'lr' };

/** One pod's app label change (apply with withLabelChange). */
export interface AppLabelChange {
  /** Index of the pod in `objects`. */
  index: number;
  /** "ns/name". */
  pod: string;
  /** On the benchmarked node. */
  local: boolean;
  app: string;
}

/**
 * `count` app label changes, each on a different pod, a local and a remote pod in turn, each to an
 * app other than the pod's own; deterministic from the seed.
 */
export function appLabelChanges(synth: Synth, count: number, seed: number): AppLabelChange[] {
  const r = rng(seed);
  const localIndexes = new Set(synth.localPods.values());
  const pods = synth.objects.flatMap((o, i) => ((o as { kind?: string }).kind === 'Pod' ? [i] : []));
  const pools = [pods.filter((i) => localIndexes.has(i)), pods.filter((i) => !localIndexes.has(i))];
  const out: AppLabelChange[] = [];
  for (let k = 0; k < count; k++) {
    const local = k % 2 === 0;
    const pool = pools[local ? 0 : 1]!;
    if (pool.length === 0)
      throw new Error(`not enough ${local ? 'local' : 'remote'} pods for ${count} changes`);
    // Take the pod out of its pool: every change is on a different pod.
    const index = pool.splice(Math.floor(r() * pool.length), 1)[0]!;
    const meta = (synth.objects[index] as { metadata: { namespace: string; name: string; labels: Labels } })
      .metadata;
    const app = pick(
      r,
      APPS.filter((a) => a !== meta.labels.app),
    );
    out.push({ index, pod: `${meta.namespace}/${meta.name}`, local, app });
  }
  return out;
}
