// What reading one raw object gives the snapshot (its validation problems, its identity, a pod's
// PodInfo), made once per object and kept while the object lives.

import type { KubeObject, Pod } from './objects.js';
import { CLUSTER_SCOPED, describeObject, objectNamespace } from './object-ref.js';
import { isDns1123Label } from './name-checks.js';
import type { Problem } from './problem.js';
import { readPod } from './read-pod.js';
import { asRecord, stringField } from './read-fields.js';
import type { PodInfo } from './snapshot.js';
import { KNOWN_KINDS, validateObject } from './validate-object.js';

export interface SourcedObject {
  obj: unknown;
  /** Where the object came from, e.g. "pods.yaml#3"; copied into its Problems. */
  source?: string;
}

export interface Keyed {
  obj: KubeObject;
  source?: string;
  object: string;
}

export function withSource(problems: Problem[], source: string | undefined): Problem[] {
  return source ? problems.map((p) => (p.source ? p : { ...p, source })) : problems;
}

/** A copy with metadata.namespace set (kubectl's "default" when a manifest leaves it out). */
function withNamespace(obj: KubeObject): KubeObject {
  if (CLUSTER_SCOPED.has(obj.kind) || obj.metadata.namespace) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace: objectNamespace(obj) } } as KubeObject;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const POD_UID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$/;
const AS_IS = 'read as it is (the API server would have refused it)';

/** A label key: an optional DNS subdomain prefix and "/", then a name of 1-63 characters. */
function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = key.slice(slash + 1);
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

/**
 * Names the API server would refuse (a manifests directory has no API server): a name or
 * namespace that is not a DNS name, label keys and values out of syntax, a pod uid that is not
 * one path component. Warnings only: the objects are read as they are, which never widens (a
 * selector compares the strings), but an operator should know.
 */
function nameProblems(obj: object): Problem[] {
  const kind = stringField(obj, 'kind');
  const meta = asRecord((obj as { metadata?: unknown }).metadata);
  if (!kind || !KNOWN_KINDS.includes(kind) || !meta) return [];
  const object = describeObject(obj);
  const out: Problem[] = [];
  const warn = (path: string, message: string, effect = AS_IS): void => {
    out.push({ severity: 'warning', object, path, message, effect });
  };
  const name = meta.name;
  if (typeof name === 'string' && (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)))
    warn(
      'metadata.name',
      'is not a valid Kubernetes name (lower-case DNS subdomain, 253 characters at most)',
    );
  const ns = meta.namespace;
  if (typeof ns === 'string' && !isDns1123Label(ns))
    warn('metadata.namespace', 'is not a valid namespace name (lower-case DNS label, 63 characters at most)');
  const labels = asRecord(meta.labels);
  for (const [key, value] of Object.entries(labels ?? {})) {
    const path = `metadata.labels[${JSON.stringify(key.length > 80 ? `${key.slice(0, 77)}...` : key)}]`;
    if (!isLabelKey(key)) warn(path, 'is not a valid label key');
    else if (typeof value === 'string' && (value.length > 63 || !LABEL_NAME.test(value)))
      warn(
        path,
        `is not a valid label value (${value.length > 63 ? `${value.length} characters` : 'syntax'})`,
      );
  }
  const uid = meta.uid;
  if (kind === 'Pod' && typeof uid === 'string' && (!POD_UID.test(uid) || uid === '.' || uid === '..'))
    warn(
      'metadata.uid',
      `${JSON.stringify(uid.slice(0, 64))} is not a valid uid`,
      "the pod's rule dumps (--pod-rules-path) are not written",
    );
  return out;
}

/** An object's identity (kind, namespace, name) and its reading for the snapshot. */
interface Identified {
  key: string;
  keyed: Keyed;
}

/**
 * What reading each object gave, per object and source. A watch keeps each object as the same
 * value until it changes, and a snapshot is rebuilt on every change: a reading is made once per
 * object. Objects are never changed in place (the loader and the watcher replace them), so a hit
 * is exactly a new reading. Weak: an object gone from the cluster takes its readings with it.
 */
export class ObjectReadings {
  private readonly validated = new WeakMap<object, { source: string | undefined; problems: Problem[] }>();
  private readonly podsRead = new WeakMap<
    object,
    { object: string; source: string | undefined; value: PodInfo; problems: Problem[] }
  >();
  // undefined value: not an object of a kind we read.
  private readonly identified = new WeakMap<
    object,
    { source: string | undefined; value: Identified | undefined }
  >();

  validate(obj: unknown, source: string | undefined): Problem[] {
    if (typeof obj !== 'object' || obj === null) return withSource(validateObject(obj, source), source);
    const hit = this.validated.get(obj);
    if (hit && hit.source === source) return hit.problems;
    const problems = withSource([...validateObject(obj, source), ...nameProblems(obj)], source);
    this.validated.set(obj, { source, problems });
    return problems;
  }

  readPod(pod: Pod, object: string, source: string | undefined): { value: PodInfo; problems: Problem[] } {
    const hit = this.podsRead.get(pod);
    if (hit && hit.object === object && hit.source === source) return hit;
    const info = readPod(pod, object);
    const entry = { object, source, value: info.value, problems: withSource(info.problems, source) };
    this.podsRead.set(pod, entry);
    return entry;
  }

  identify(obj: unknown, source: string | undefined): Identified | undefined {
    const hit = typeof obj === 'object' && obj !== null ? this.identified.get(obj) : undefined;
    if (hit && hit.source === source) return hit.value;
    const kind = stringField(obj, 'kind');
    const name = stringField(asRecord(obj)?.metadata, 'name');
    // Objects without a kind we read or without a name were reported by validateObject.
    let value: Identified | undefined;
    if (kind && KNOWN_KINDS.includes(kind) && name) {
      const object = describeObject(obj);
      value = {
        key: `${kind} ${CLUSTER_SCOPED.has(kind) ? '' : objectNamespace(obj)}/${name}`,
        keyed: { obj: withNamespace(obj as KubeObject), object, ...(source ? { source } : {}) },
      };
    }
    if (typeof obj === 'object' && obj !== null) this.identified.set(obj, { source, value });
    return value;
  }

  /** Reads the objects ahead of a build (the informers, page by page, while the next page loads). */
  readAhead(objects: readonly SourcedObject[]): void {
    for (const { obj, source } of objects) {
      this.validate(obj, source);
      const id = this.identify(obj, source);
      if (id?.keyed.obj.kind === 'Pod') this.readPod(id.keyed.obj as Pod, id.keyed.object, source);
    }
  }
}
