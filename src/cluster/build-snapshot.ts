// Builds the ClusterSnapshot from raw objects, from a manifests directory or from the API server.
// Every object is validated; what cannot be read becomes a Problem, never an exception.

import { EFFECT } from './effects.js';
import { nadPluginType } from './nad-plugin-type.js';
import type { KubeObject, MultiNetworkPolicy, Pod } from './objects.js';
import { ANNOTATION } from './objects.js';
import { CLUSTER_SCOPED, describeObject, objectNamespace } from './object-ref.js';
import { parseUplinkRepresentors } from './parse-uplinks.js';
import type { Problem } from './problem.js';
import { readPod } from './read-pod.js';
import { asRecord, stringField, stringMap } from './read-fields.js';
import type { ClusterSnapshot, PodInfo } from './snapshot.js';
import { KNOWN_KINDS, validateObject } from './validate-object.js';

export interface SourcedObject {
  obj: unknown;
  /** Where the object came from, e.g. "pods.yaml#3"; copied into its Problems. */
  source?: string;
}

/** The label Kubernetes puts on every namespace, so selectors can pick a namespace by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

interface Keyed {
  obj: KubeObject;
  source?: string;
  object: string;
}

function withSource(problems: Problem[], source: string | undefined): Problem[] {
  return source ? problems.map((p) => (p.source ? p : { ...p, source })) : problems;
}

/** A copy with metadata.namespace set (kubectl's "default" when a manifest leaves it out). */
function withNamespace(obj: KubeObject): KubeObject {
  if (CLUSTER_SCOPED.has(obj.kind) || obj.metadata.namespace) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace: objectNamespace(obj) } } as KubeObject;
}

// A watch keeps each object as the same value until it changes, and a snapshot is rebuilt on
// every change: remember what reading an object gave, per object and source. Objects are never
// changed in place (the loader and the watcher replace them), so a hit is exactly a new reading.
const validated = new WeakMap<object, { source: string | undefined; problems: Problem[] }>();
const podsRead = new WeakMap<
  object,
  { object: string; source: string | undefined; value: PodInfo; problems: Problem[] }
>();

function validateOnce(obj: unknown, source: string | undefined): Problem[] {
  if (typeof obj !== 'object' || obj === null) return withSource(validateObject(obj, source), source);
  const hit = validated.get(obj);
  if (hit && hit.source === source) return hit.problems;
  const problems = withSource(validateObject(obj, source), source);
  validated.set(obj, { source, problems });
  return problems;
}

function readPodOnce(
  pod: Pod,
  object: string,
  source: string | undefined,
): { value: PodInfo; problems: Problem[] } {
  const hit = podsRead.get(pod);
  if (hit && hit.object === object && hit.source === source) return hit;
  const info = readPod(pod, object);
  const entry = { object, source, value: info.value, problems: withSource(info.problems, source) };
  podsRead.set(pod, entry);
  return entry;
}

/** Validates every object and keeps the last of each kind/namespace/name. */
function dedupe(objects: SourcedObject[], problems: Problem[]): Map<string, Keyed> {
  const byKey = new Map<string, Keyed>();
  for (const { obj, source } of objects) {
    problems.push(...validateOnce(obj, source));
    const kind = stringField(obj, 'kind');
    const name = stringField(asRecord(obj)?.metadata, 'name');
    // Objects without a kind we read or without a name were reported by validateObject.
    if (!kind || !KNOWN_KINDS.includes(kind) || !name) continue;
    const object = describeObject(obj);
    const key = `${kind} ${CLUSTER_SCOPED.has(kind) ? '' : objectNamespace(obj)}/${name}`;
    const previous = byKey.get(key);
    if (previous) {
      const where = previous.source ? ` (first in ${previous.source})` : '';
      problems.push({
        severity: 'warning',
        object,
        path: '',
        message: `is defined more than once${where}`,
        effect: EFFECT.lastWins,
        ...(source ? { source } : {}),
      });
      byKey.delete(key);
    }
    byKey.set(key, { obj: withNamespace(obj as KubeObject), object, ...(source ? { source } : {}) });
  }
  return byKey;
}

function byNamespaceName(
  a: { namespace: string; name: string },
  b: { namespace: string; name: string },
): number {
  return a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace);
}

function policyKey(p: MultiNetworkPolicy): { namespace: string; name: string } {
  return { namespace: objectNamespace(p), name: p.metadata.name };
}

/**
 * Namespaces that pods, policies or NADs live in but that no Namespace object defines: Kubernetes
 * would not have them, so a manifests directory just left them out. They get the name label only.
 */
function addImplicitNamespaces(snap: ClusterSnapshot, used: Map<string, string>): void {
  for (const [ns, user] of [...used].sort(([a], [b]) => a.localeCompare(b))) {
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

export function buildSnapshot(objects: SourcedObject[]): ClusterSnapshot {
  const problems: Problem[] = [];
  const byKey = dedupe(objects, problems);
  const raw: NonNullable<ClusterSnapshot['raw']> = { pods: [], namespaces: [], nads: [], nodes: [] };
  const snap: ClusterSnapshot = {
    policies: [],
    namespaces: new Map(),
    pods: [],
    networks: new Map(),
    nodes: new Map(),
    problems,
    raw,
  };
  const pods: PodInfo[] = [];
  const usedNamespaces = new Map<string, string>();
  const use = (ns: string, object: string): void => {
    if (!usedNamespaces.has(ns)) usedNamespaces.set(ns, object);
  };
  for (const { obj, source, object } of byKey.values()) {
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
        const info = readPodOnce(obj, object, source);
        problems.push(...info.problems);
        pods.push(info.value);
        use(info.value.namespace, object);
        break;
      }
      case 'MultiNetworkPolicy':
        // Kept even when invalid: the policy engine fails an invalid policy closed.
        snap.policies.push(obj);
        use(objectNamespace(obj), object);
        break;
    }
  }
  addImplicitNamespaces(snap, usedNamespaces);
  snap.pods = pods.sort(byNamespaceName);
  snap.policies.sort((a, b) => byNamespaceName(policyKey(a), policyKey(b)));
  return snap;
}
