// What changed between two snapshots, for the incremental model update: either only some pods
// (by "namespace/name"), or something else too, which needs a full rebuild.

import type { ClusterSnapshot, PodInfo } from './snapshot.js';

export type SnapshotDiff = { kind: 'pods'; changed: string[] } | { kind: 'other'; what: string };

function podKey(p: PodInfo): string {
  return `${p.namespace}/${p.name}`;
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function mapJson<V>(m: Map<string, V>): string {
  return JSON.stringify([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

// A snapshot patched from the last one shares its maps and the values in its lists.
function sameMap<V>(a: Map<string, V>, b: Map<string, V>): boolean {
  return a === b || mapJson(a) === mapJson(b);
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && (a.every((x, i) => x === b[i]) || a.every((x, i) => sameJson(x, b[i])));
}

export function diffSnapshots(prev: ClusterSnapshot, next: ClusterSnapshot): SnapshotDiff {
  if (!sameList(prev.policies, next.policies)) return { kind: 'other', what: 'policies' };
  if (!sameMap(prev.namespaces, next.namespaces)) return { kind: 'other', what: 'namespaces' };
  if (!sameMap(prev.networks, next.networks)) return { kind: 'other', what: 'networks' };
  if (!sameMap(prev.nodes, next.nodes)) return { kind: 'other', what: 'nodes' };
  // The model carries the snapshot's problems first (and the update relies on their count).
  if (!sameList(prev.problems, next.problems)) return { kind: 'other', what: 'problems' };
  // Pods are sorted and mostly the same objects: walk both lists while they pair up.
  let same = 0;
  while (same < prev.pods.length && same < next.pods.length && prev.pods[same] === next.pods[same]) same++;
  let end = 0;
  while (
    end < prev.pods.length - same &&
    end < next.pods.length - same &&
    prev.pods[prev.pods.length - 1 - end] === next.pods[next.pods.length - 1 - end]
  )
    end++;
  const before = new Map(prev.pods.slice(same, prev.pods.length - end).map((p) => [podKey(p), p]));
  const changed: string[] = [];
  for (const p of next.pods.slice(same, next.pods.length - end)) {
    const key = podKey(p);
    const old = before.get(key);
    before.delete(key);
    if (!old || !sameJson(old, p)) changed.push(key);
  }
  changed.push(...before.keys());
  return { kind: 'pods', changed: changed.sort() };
}
