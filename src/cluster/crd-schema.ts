// Validators compiled from the CRD YAML files in deploy/crds, one per kind and served version.
// Loaded lazily on first use and cached: the files are part of the installation, not input.
// Compiling a schema is the larger part of validating the first objects (the agent's cold start:
// ~110 ms of CPU for each of the two validators of the three versions), so the structural one is
// compiled only when an object needs it (see CrdValidator).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { createAjv } from './ajv-instance.js';
import { findCrdDir } from './crd-dir.js';
import { openApiToJsonSchema } from './openapi-to-json-schema.js';

export interface CrdValidator {
  /** Decides validity: types and required fields, as the API server checks them (compiled on first call). */
  structural(): ValidateFunction;
  /** Also fails on fields the schema does not list (the API server would prune them). */
  closed: ValidateFunction;
  /**
   * An object `closed` accepts is valid, so `structural` need not run: closing objects only adds
   * constraints, unless the schema negates a subschema (`not`, `if`), where it could also lift one.
   */
  closedImpliesValid: boolean;
}

export interface CrdValidators {
  /** Key "group/version kind", e.g. "k8s.cni.cncf.io/v1beta1 MultiNetworkPolicy". */
  byVersionKind: Map<string, CrdValidator>;
  /** Served versions ("group/version") per kind, for error messages. */
  versionsByKind: Map<string, string[]>;
}

interface CrdVersion {
  name?: unknown;
  served?: unknown;
  schema?: { openAPIV3Schema?: unknown };
}

/** Whether `schema` has a keyword under which a constraint added below could lift another. */
function negates(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(negates);
  const node = asRecord(schema);
  if (!node) return false;
  return Object.entries(node).some(([k, v]) => k === 'not' || k === 'if' || negates(v));
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** Reads every CRD in `dir` and compiles validators for its served versions. */
export function loadCrdValidators(dir: string = findCrdDir()): CrdValidators {
  const ajv = createAjv();
  const result: CrdValidators = { byVersionKind: new Map(), versionsByKind: new Map() };
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${join(dir, file)}: ${doc.errors[0]?.message}`);
      const crd = asRecord(doc.toJS());
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const spec = asRecord(crd.spec);
      const kind = asRecord(spec?.names)?.kind;
      const group = spec?.group;
      if (typeof kind !== 'string' || typeof group !== 'string' || !Array.isArray(spec?.versions)) continue;
      for (const v of spec.versions as CrdVersion[]) {
        const openapi = asRecord(v.schema?.openAPIV3Schema);
        if (v.served !== true || typeof v.name !== 'string' || !openapi) continue;
        const apiVersion = `${group}/${v.name}`;
        let structural: ValidateFunction | undefined;
        result.byVersionKind.set(`${apiVersion} ${kind}`, {
          structural: () => (structural ??= ajv.compile(openApiToJsonSchema(openapi))),
          closed: ajv.compile(openApiToJsonSchema(openapi, { closeObjects: true })),
          closedImpliesValid: !negates(openapi),
        });
        result.versionsByKind.set(kind, [...(result.versionsByKind.get(kind) ?? []), apiVersion]);
      }
    }
  }
  return result;
}

let cached: CrdValidators | undefined;

/** The validators from the installed deploy/crds, loaded once. */
export function crdValidators(): CrdValidators {
  cached ??= loadCrdValidators();
  return cached;
}
