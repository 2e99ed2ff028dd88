// How Problems name an object: "Kind namespace/name", or "Kind name" for cluster-scoped kinds.

import { asRecord, stringField } from './read-fields.js';

/** Kinds without a namespace. */
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set(['Namespace', 'Node']);

/** Namespace of a namespaced object; kubectl's default when the manifest leaves it out. */
export function objectNamespace(obj: unknown): string {
  return stringField(asRecord(obj)?.metadata, 'namespace') || 'default';
}

export function describeObject(obj: unknown): string {
  const kind = stringField(obj, 'kind') ?? 'object';
  const name = stringField(asRecord(obj)?.metadata, 'name') ?? '<unnamed>';
  if (CLUSTER_SCOPED.has(kind)) return `${kind} ${name}`;
  return `${kind} ${objectNamespace(obj)}/${name}`;
}
