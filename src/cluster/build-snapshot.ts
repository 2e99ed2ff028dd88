// Builds the ClusterSnapshot from raw objects, from a manifests directory or from the API server.
// Every object is validated; what cannot be read becomes a Problem, never an exception.

import { EFFECT } from './effects.js';
import { nadPluginType } from './nad-plugin-type.js';
import type { MultiNetworkPolicy, Pod } from './objects.js';
import { ANNOTATION } from './objects.js';
import { objectNamespace } from './object-ref.js';
import { parseUplinkRepresentors } from './parse-uplinks.js';
import type { Problem } from './problem.js';
import { asRecord, stringMap } from './read-fields.js';
import type { ClusterSnapshot, PodInfo } from './snapshot.js';
import { reclaimed, releaseSharedAddresses, type AddressClaims } from './address-claims.js';
import { failClosedPolicy, type ClosedPolicy } from './fail-closed-policy.js';

import { type Keyed, ObjectReadings, type SourcedObject, withSource } from './object-readings.js';

export type { SourcedObject } from './object-readings.js';

/** The label Kubernetes puts on every namespace, so selectors can pick a namespace by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The effect of any other object defined more than once. */
const FIRST_WINS = 'this definition is ignored; the first one is used';

/** The effect of a policy defined more than once (the API server would never hold two). */
const DUPLICATE_POLICY_EFFECT =
  'the policy isolates every pod of its namespace, on the networks of every definition, and allows nothing';

/**
 * Validates every object and keeps the first of each kind/namespace/name. A MultiNetworkPolicy
 * that fails validation, or that is defined more than once, is noted in `closed`: either choice
 * between two definitions could widen, so the policy fails closed (see failClosedPolicy).
 */
function dedupe(
  readings: ObjectReadings,
  objects: SourcedObject[],
  problems: Problem[],
  closed: Map<string, ClosedPolicy>,
): Map<string, Keyed> {
  const byKey = new Map<string, Keyed>();
  for (const { obj, source } of objects) {
    const found = readings.validate(obj, source);
    if (found.length > 0) problems.push(...found);
    const id = readings.identify(obj, source);
    if (!id) continue;
    const { key, keyed } = id;
    const object = keyed.object;
    const isPolicy = keyed.obj.kind === 'MultiNetworkPolicy';
    const previous = byKey.get(key);
    if (isPolicy) {
      const invalid = found.some((p) => p.severity === 'error' && p.effect === EFFECT.policyFailsClosed);
      const entry = closed.get(key);
      if (entry) entry.definitions.push(keyed.obj as MultiNetworkPolicy);
      else if (previous || invalid)
        closed.set(key, {
          definitions: [...(previous ? [previous.obj] : []), keyed.obj] as MultiNetworkPolicy[],
          duplicate: false,
        });
      if (previous) closed.get(key)!.duplicate = true;
    }
    if (previous) {
      const where = previous.source ? ` (first in ${previous.source})` : '';
      problems.push({
        severity: isPolicy ? 'error' : 'warning',
        object,
        path: '',
        message: `is defined more than once${where}`,
        effect: isPolicy ? DUPLICATE_POLICY_EFFECT : FIRST_WINS,
        ...(source ? { source } : {}),
      });
      // The first definition stays: the later one is as if it were not there (never wider).
      continue;
    }
    byKey.set(key, keyed);
  }
  return byKey;
}

// Names in en-US collation order, whatever the machine's locale. Kubernetes names (lowercase
// letters, digits, '-' and '.') collate in the order of their code units, which is compared
// without the collator: a snapshot sorts thousands of pods on every change.
const collator = new Intl.Collator('en-US');
const PLAIN_NAME = /^[a-z0-9.-]*$/;

export function compareNames(a: string, b: string): number {
  if (PLAIN_NAME.test(a) && PLAIN_NAME.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return collator.compare(a, b);
}

function byNamespaceName(
  a: { namespace: string; name: string },
  b: { namespace: string; name: string },
): number {
  return a.namespace === b.namespace ? compareNames(a.name, b.name) : compareNames(a.namespace, b.namespace);
}

/** The pod with this namespace and name in a snapshot's pods (sorted by buildSnapshot), if any. */
export function findPod(pods: readonly PodInfo[], namespace: string, name: string): PodInfo | undefined {
  const key = { namespace, name };
  let lo = 0;
  let hi = pods.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = byNamespaceName(pods[mid]!, key);
    if (c === 0) return pods[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * The last sort: a watch rebuilds the snapshot on every change, mostly from the same pod readings
 * (see ObjectReadings) in the same order.
 */
interface LastSort {
  input: PodInfo[];
  output: PodInfo[];
}
const REUSE_LIMIT = 16;

/**
 * Pods in byNamespaceName order. When the pods are those of the last sort, in the same order, but
 * for a few replaced by pods of the same namespace and name, the last order is kept with them.
 */
function sortByNamespaceName(pods: PodInfo[], memo: { lastSort?: LastSort }): PodInfo[] {
  const last = memo.lastSort;
  let sorted: PodInfo[] | undefined;
  if (last && last.input.length === pods.length) {
    const replaced: number[] = [];
    for (let i = 0; i < pods.length && replaced.length <= REUSE_LIMIT; i++) {
      if (pods[i] !== last.input[i]) replaced.push(i);
    }
    const same = (i: number) =>
      pods[i]!.namespace === last.input[i]!.namespace && pods[i]!.name === last.input[i]!.name;
    if (replaced.length <= REUSE_LIMIT && replaced.every(same)) {
      sorted = [...last.output];
      for (const i of replaced) sorted[sorted.indexOf(last.input[i]!)] = pods[i]!;
    }
  }
  sorted ??= [...pods].sort(byNamespaceName);
  memo.lastSort = { input: [...pods], output: sorted };
  return [...sorted];
}

function policyKey(p: MultiNetworkPolicy): { namespace: string; name: string } {
  return { namespace: objectNamespace(p), name: p.metadata.name };
}

/**
 * Namespaces that pods, policies or NADs live in but that no Namespace object defines: Kubernetes
 * would not have them, so a manifests directory just left them out. They get the name label only.
 */
function addImplicitNamespaces(snap: ClusterSnapshot, used: Map<string, string>): void {
  for (const [ns, user] of [...used].sort(([a], [b]) => compareNames(a, b))) {
    if (snap.namespaces.has(ns)) continue;
    snap.namespaces.set(ns, { [NAMESPACE_NAME_LABEL]: ns });
    snap.problems.push({
      severity: 'warning',
      object: `Namespace ${ns}`,
      path: '',
      message: `is not defined, but ${user} is in it`,
      effect: `the namespace is assumed to exist with only the label ${NAMESPACE_NAME_LABEL}=${ns}`,
    });
  }
}

/**
 * Where each object was defined ("file.yaml#2"), the first definition of each, so that problems
 * found later (by the policy engine, which sees no files) can name the file of their object.
 * Undefined when no object has a source (the informers').
 */
function objectSources(
  readings: ObjectReadings,
  objects: readonly SourcedObject[],
): Map<string, string> | undefined {
  let out: Map<string, string> | undefined;
  for (const { obj, source } of objects) {
    const id = source ? readings.identify(obj, source) : undefined;
    if (!id || !source) continue;
    out ??= new Map();
    // The first definition: a duplicate's own problem already names the later file.
    if (!out.has(id.keyed.object)) out.set(id.keyed.object, source);
  }
  return out;
}

/** What a builder keeps between builds: the readings, the last sort. */
interface BuildMemo {
  readings: ObjectReadings;
  lastSort?: LastSort;
}

/** The full build, with what the next build needs to patch it. */
function buildFull(memo: BuildMemo, objects: SourcedObject[]): LastBuild {
  const problems: Problem[] = [];
  const closed = new Map<string, ClosedPolicy>();
  const byKey = dedupe(memo.readings, objects, problems, closed);
  const duplicates = problems.some((p) => p.effect === FIRST_WINS || p.effect === DUPLICATE_POLICY_EFFECT);
  const raw: NonNullable<ClusterSnapshot['raw']> = { pods: [], namespaces: [], nads: [], nodes: [] };
  const snap: ClusterSnapshot = {
    policies: [],
    namespaces: new Map(),
    pods: [],
    networks: new Map(),
    nodes: new Map(),
    problems,
    raw,
    objectSources: objectSources(memo.readings, objects),
  };
  const pods: PodInfo[] = [];
  const podSources: (string | undefined)[] = [];
  const usedNamespaces = new Map<string, string>();
  const use = (ns: string, object: string): void => {
    if (!usedNamespaces.has(ns)) usedNamespaces.set(ns, object);
  };
  for (const [key, { obj, source, object }] of byKey) {
    switch (obj.kind) {
      case 'Namespace': {
        raw.namespaces.push(obj);
        // Kubernetes sets this label on every namespace and overwrites any other value.
        snap.namespaces.set(obj.metadata.name, {
          ...stringMap(obj.metadata.labels),
          [NAMESPACE_NAME_LABEL]: obj.metadata.name,
        });
        break;
      }
      case 'Node': {
        raw.nodes.push(obj);
        const uplinks = parseUplinkRepresentors(
          stringMap(obj.metadata.annotations)[ANNOTATION.uplinkRepresentors],
          object,
        );
        problems.push(...withSource(uplinks.problems, source));
        snap.nodes.set(obj.metadata.name, { name: obj.metadata.name, uplinks: uplinks.value });
        break;
      }
      case 'NetworkAttachmentDefinition': {
        raw.nads.push(obj);
        const key = `${objectNamespace(obj)}/${obj.metadata.name}`;
        const type = nadPluginType(asRecord(obj.spec)?.config, object);
        problems.push(...withSource(type.problems, source));
        snap.networks.set(key, type.value === undefined ? { key } : { key, pluginType: type.value });
        use(objectNamespace(obj), object);
        break;
      }
      case 'Pod': {
        raw.pods.push(obj);
        const info = memo.readings.readPod(obj, object, source);
        problems.push(...info.problems);
        pods.push(info.value);
        podSources.push(source);
        use(info.value.namespace, object);
        break;
      }
      case 'MultiNetworkPolicy': {
        // Kept even when invalid or defined twice, in a form that isolates and allows nothing.
        const c = closed.get(key);
        snap.policies.push(c ? failClosedPolicy(c) : obj);
        use(objectNamespace(obj), object);
        break;
      }
    }
  }
  addImplicitNamespaces(snap, usedNamespaces);
  const claims = releaseSharedAddresses(pods, podSources, problems);
  snap.pods = sortByNamespaceName(pods, memo);
  snap.policies.sort((a, b) => byNamespaceName(policyKey(a), policyKey(b)));
  return remember(memo.readings, objects, snap, duplicates, claims);
}

// What a build leaves for the next one. A watch changes one object at a time, and most changes are
// pods (labels, status, a restart): when the objects are those of the last build, in the same
// order, but for a few pods replaced by pods of the same namespace and name, read and validated
// without problems as were the pods they replace, the snapshot is the last one with those pods
// swapped in, in place of a new reading of every object.
interface LastBuild {
  objects: unknown[];
  sources: (string | undefined)[];
  snapshot: ClusterSnapshot;
  /** Per input position: the pod read there without problems, or undefined. */
  cleanPods: (PodInfo | undefined)[];
  /** Per input position: its pod's index in snapshot.pods and raw.pods (-1: not a pod). */
  sortedAt: Int32Array;
  rawAt: Int32Array;
  /** Addresses of live pods and their owner; a patch that would share one takes the full build. */
  claims: AddressClaims;
}

const PATCH_LIMIT = 16;

function remember(
  readings: ObjectReadings,
  objects: SourcedObject[],
  snap: ClusterSnapshot,
  duplicates: boolean,
  claims: AddressClaims,
): LastBuild {
  const n = objects.length;
  const cleanPods: (PodInfo | undefined)[] = new Array<PodInfo | undefined>(n).fill(undefined);
  const sortedAt = new Int32Array(n).fill(-1);
  const rawAt = new Int32Array(n).fill(-1);
  // With a name defined twice, which object a position's pod came from is not one-to-one.
  if (!duplicates) {
    const sortedIndex = new Map<PodInfo, number>();
    snap.pods.forEach((p, i) => sortedIndex.set(p, i));
    let raw = 0;
    objects.forEach(({ obj, source }, i) => {
      const pod = cleanPod(readings, obj, source);
      if (pod && snap.raw?.pods[raw] === pod.raw) {
        cleanPods[i] = pod.info;
        sortedAt[i] = sortedIndex.get(pod.info) ?? -1;
        rawAt[i] = raw;
      }
      if (readings.identify(obj, source)?.keyed.obj.kind === 'Pod') raw++;
    });
  }
  return {
    objects: objects.map((o) => o.obj),
    sources: objects.map((o) => o.source),
    snapshot: snap,
    cleanPods,
    sortedAt,
    rawAt,
    claims,
  };
}

/** The reading of a pod object that has no problems (validation or reading), or undefined. */
function cleanPod(
  readings: ObjectReadings,
  obj: unknown,
  source: string | undefined,
): { info: PodInfo; raw: Pod } | undefined {
  const id = readings.identify(obj, source);
  if (!id || id.keyed.obj.kind !== 'Pod' || readings.validate(obj, source).length > 0) return undefined;
  const read = readings.readPod(id.keyed.obj as Pod, id.keyed.object, source);
  if (read.problems.length > 0) return undefined;
  return { info: read.value, raw: id.keyed.obj as Pod };
}

/** The last snapshot with a few clean pods replaced, when that is what the objects give. */
function patched(
  readings: ObjectReadings,
  last: LastBuild | undefined,
  objects: SourcedObject[],
): LastBuild | undefined {
  if (!last || last.objects.length !== objects.length || last.claims.shared) return undefined;
  const changed: number[] = [];
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i]!;
    if (o.obj === last.objects[i] && o.source === last.sources[i]) continue;
    if (changed.length === PATCH_LIMIT || !last.cleanPods[i]) return undefined;
    changed.push(i);
  }
  if (changed.length === 0) return undefined;
  const replacements: { at: number; info: PodInfo; raw: Pod }[] = [];
  for (const at of changed) {
    const next = cleanPod(readings, objects[at]!.obj, objects[at]!.source);
    const before = last.cleanPods[at]!;
    if (!next || next.info.namespace !== before.namespace || next.info.name !== before.name) return undefined;
    replacements.push({ at, ...next });
  }
  const claims = reclaimed(
    last.claims,
    replacements.map((r) => [last.cleanPods[r.at]!, r.info]),
  );
  if (!claims) return undefined;
  const prev = last.snapshot;
  const pods = [...prev.pods];
  const rawPods = [...(prev.raw?.pods ?? [])];
  const cleanPods = [...last.cleanPods];
  for (const r of replacements) {
    pods[last.sortedAt[r.at]!] = r.info;
    rawPods[last.rawAt[r.at]!] = r.raw;
    cleanPods[r.at] = r.info;
  }
  // The maps are shared with the last snapshot: nothing changes a snapshot once it is built.
  // The fields in buildFull's order: one object shape for every snapshot (the code that reads
  // snapshots on every change stays monomorphic).
  const snap: ClusterSnapshot = {
    policies: [...prev.policies],
    namespaces: prev.namespaces,
    pods,
    networks: prev.networks,
    nodes: prev.nodes,
    problems: [...prev.problems],
    raw: prev.raw && {
      pods: rawPods,
      namespaces: prev.raw.namespaces,
      nads: prev.raw.nads,
      nodes: prev.raw.nodes,
    },
    // A replaced pod has the namespace and name of the one it replaces: only its source can move.
    objectSources: replacements.every((r) => objects[r.at]!.source === last.sources[r.at])
      ? prev.objectSources
      : objectSources(readings, objects),
  };
  return {
    objects: objects.map((o) => o.obj),
    sources: objects.map((o) => o.source),
    snapshot: snap,
    cleanPods,
    sortedAt: last.sortedAt,
    rawAt: last.rawAt,
    claims,
  };
}

/** Problems with the source of their object ("file.yaml#2") filled in where they had none. */
export function withObjectSources(snapshot: ClusterSnapshot, problems: Problem[]): Problem[] {
  const sourceOf = snapshot.objectSources;
  if (!sourceOf || problems.every((p) => p.source)) return problems;
  return problems.map((p) => {
    const source = p.source ? undefined : sourceOf.get(p.object);
    return source ? { ...p, source } : p;
  });
}

/**
 * Builds snapshots, each from the last one when only a few pods changed (see LastBuild), reading
 * each object once (see ObjectReadings). The agent's state source and the CLI's loader own one.
 */
export class SnapshotBuilder {
  private last?: LastBuild;
  private readonly memo: BuildMemo = { readings: new ObjectReadings() };
  /** How the last snapshot was made (for tests). */
  lastHow: 'patched' | 'full' | undefined;

  build(objects: SourcedObject[]): ClusterSnapshot {
    const next = patched(this.memo.readings, this.last, objects);
    this.lastHow = next ? 'patched' : 'full';
    this.last = next ?? buildFull(this.memo, objects);
    return this.last.snapshot;
  }

  /** Reads objects ahead of the build that will take them (see ObjectReadings.readAhead). */
  readAhead(objects: readonly SourcedObject[]): void {
    this.memo.readings.readAhead(objects);
  }
}

/** A snapshot of the objects, built alone (nothing is kept for a next build: see SnapshotBuilder). */
export function buildSnapshot(objects: SourcedObject[]): ClusterSnapshot {
  return new SnapshotBuilder().build(objects);
}
