// The records the informer caches keep: only the fields the snapshot builder and the model read
// (see read-pod.ts, build-snapshot.ts, objects.ts), never managedFields, status blocks, container
// images or unrelated annotations. A pod the API server sends is ~5-10 KiB; its record is a few
// hundred bytes. Every record carries apiVersion and kind (list items have neither), so the
// snapshot builder takes it as is, without a typed copy.

import { ANNOTATION } from '../objects.js';

type Raw = Record<string, unknown>;

function rec(v: unknown): Raw | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
}

/** Copies the keys that are present (an absent field stays absent, not undefined). */
function pick(from: Raw | undefined, keys: readonly string[]): Raw {
  const out: Raw = {};
  if (!from) return out;
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

function pickAnnotations(meta: Raw | undefined, keys: readonly string[]): Raw | undefined {
  const all = rec(meta?.annotations);
  if (!all) return undefined;
  const kept = pick(all, keys);
  return Object.keys(kept).length > 0 ? kept : undefined;
}

const META_KEYS = ['name', 'namespace', 'uid', 'resourceVersion'] as const;

function meta(obj: Raw, withLabels: boolean, annotations: readonly string[]): Raw {
  const m = rec(obj.metadata);
  const out = pick(m, META_KEYS);
  if (withLabels && m?.labels !== undefined) out.labels = m.labels;
  const a = pickAnnotations(m, annotations);
  if (a) out.annotations = a;
  return out;
}

const POD_ANNOTATIONS = [ANNOTATION.networks, ANNOTATION.networkStatus, ANNOTATION.networkStatusDeprecated];

/**
 * Containers reduced to their ports; containers without ports name nothing the model reads. An
 * init container keeps its restartPolicy: `Always` makes it a sidecar, whose named ports count.
 */
function slimContainers(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const out: Raw[] = [];
  for (const c of v) {
    const r = rec(c);
    if (r?.ports === undefined) continue;
    out.push(pick(r, ['name', 'restartPolicy', 'ports']));
  }
  return out;
}

function slimPod(obj: Raw): Raw {
  const spec = rec(obj.spec);
  const s = pick(spec, ['nodeName', 'hostNetwork']);
  if (spec?.containers !== undefined) s.containers = slimContainers(spec.containers);
  if (spec?.initContainers !== undefined) s.initContainers = slimContainers(spec.initContainers);
  const out: Raw = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: meta(obj, true, POD_ANNOTATIONS) };
  if (spec) out.spec = s;
  const status = rec(obj.status);
  if (status) out.status = pick(status, ['phase']);
  return out;
}

/** The slim record of an object of `kind`, typed with `apiVersion` and `kind`. */
export function slimObject(obj: unknown, apiVersion: string, kind: string): Raw {
  const typed: Raw = { ...(rec(obj) ?? {}), apiVersion, kind };
  switch (kind) {
    case 'Pod':
      return slimPod(typed);
    case 'Namespace':
      return { apiVersion, kind, metadata: meta(typed, true, []) };
    case 'Node':
      return { apiVersion, kind, metadata: meta(typed, true, [ANNOTATION.uplinkRepresentors]) };
    case 'NetworkAttachmentDefinition':
    case 'MultiNetworkPolicy': {
      const annotations = kind === 'MultiNetworkPolicy' ? [ANNOTATION.policyFor] : [];
      const out: Raw = { apiVersion, kind, metadata: meta(typed, false, annotations) };
      if (typed.spec !== undefined) out.spec = typed.spec;
      return out;
    }
    default:
      return typed;
  }
}
