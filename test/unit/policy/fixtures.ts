// Test world modelled on the Kubernetes NetworkPolicy e2e suite: namespaces x, y, z with pods
// a, b, c each, every pod serving ports 80 and 81 on TCP, UDP and SCTP (container port names
// serve-<port>-<proto>), all attached to one managed network, default/accel.

import type { MultiNetworkPolicy } from '../../../src/cluster/objects.js';
import type {
  ClusterSnapshot,
  NamedPort,
  NetworkInfo,
  PodInfo,
  PodInterface,
} from '../../../src/cluster/snapshot.js';
import type { Protocol } from '../../../src/policy/types.js';

export const NET = 'default/accel';
export const PLUGIN = 'accelerated-bridge';
export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
/** "x/a", "x/b", ... "z/c" */
export const ALL_PODS: string[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));

function indices(pod: string): [number, number] {
  const [ns, name] = pod.split('/') as [string, string];
  return [NAMESPACES.indexOf(ns as 'x') + 1, POD_NAMES.indexOf(name as 'a') + 1];
}

/** 10.0.<ns index>.<pod index>, indices from 1: x/a = 10.0.1.1, y/b = 10.0.2.2. */
export function ip4(pod: string): string {
  const [n, p] = indices(pod);
  return `10.0.${n}.${p}`;
}

/** fd00::<ns index>:<pod index>: x/a = fd00::1:1. */
export function ip6(pod: string): string {
  const [n, p] = indices(pod);
  return `fd00::${n}:${p}`;
}

export function servePorts(): NamedPort[] {
  const out: NamedPort[] = [];
  for (const port of [80, 81]) {
    for (const protocol of ['TCP', 'UDP', 'SCTP'] as Protocol[]) {
      out.push({ name: `serve-${port}-${protocol.toLowerCase()}`, port, protocol });
    }
  }
  return out;
}

export function podInfo(init: Partial<PodInfo> & { namespace: string; name: string }): PodInfo {
  return {
    uid: `uid-${init.namespace}-${init.name}`,
    labels: { pod: init.name },
    nodeName: 'worker-1',
    hostNetwork: false,
    phase: 'Running',
    namedPorts: servePorts(),
    interfaces: [],
    ...init,
  };
}

export function itf(network: string, name: string, ips: string[]): PodInterface {
  return { network, interface: name, ips };
}

export interface WorldOptions {
  /** Labels merged into a standard pod's labels, by "ns/pod". */
  podLabels?: Record<string, Record<string, string>>;
  /** Named ports added to a standard pod, by "ns/pod". */
  extraNamedPorts?: Record<string, NamedPort[]>;
  /** Replaces a standard pod's interfaces, by "ns/pod". */
  interfaces?: Record<string, PodInterface[]>;
  /** Pods added after the nine standard ones. */
  extraPods?: PodInfo[];
  /** Networks added to default/accel. */
  extraNetworks?: NetworkInfo[];
}

/** The nine standard pods on default/accel (IPv4 and IPv6) plus whatever `opts` adds. */
export function world(policies: MultiNetworkPolicy[], opts: WorldOptions = {}): ClusterSnapshot {
  const pods: PodInfo[] = ALL_PODS.map((key) => {
    const [namespace, name] = key.split('/') as [string, string];
    return podInfo({
      namespace,
      name,
      labels: { pod: name, ...opts.podLabels?.[key] },
      namedPorts: [...servePorts(), ...(opts.extraNamedPorts?.[key] ?? [])],
      interfaces: opts.interfaces?.[key] ?? [itf(NET, 'net1', [ip4(key), ip6(key)])],
    });
  });
  const networks = new Map<string, NetworkInfo>([[NET, { key: NET, pluginType: PLUGIN }]]);
  for (const n of opts.extraNetworks ?? []) networks.set(n.key, n);
  return {
    policies,
    namespaces: new Map(NAMESPACES.map((ns) => [ns, { ns }])),
    pods: [...pods, ...(opts.extraPods ?? [])],
    networks,
    nodes: new Map(),
    problems: [],
  };
}

/** A MultiNetworkPolicy for `policyFor` (default: the shared network; null: no annotation). */
export function mnp(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  policyFor: string | null = NET,
): MultiNetworkPolicy {
  const annotations = policyFor === null ? undefined : { 'k8s.v1.cni.cncf.io/policy-for': policyFor };
  return {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: spec as unknown as MultiNetworkPolicy['spec'],
  };
}

/** Selector shorthands. */
export const pods = (name: string) => ({ matchLabels: { pod: name } });
export const nsLabel = (ns: string) => ({ matchLabels: { ns } });
