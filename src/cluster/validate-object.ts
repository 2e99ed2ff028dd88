// Checks one raw object before the snapshot reads it: CRD kinds against the schema in deploy/crds,
// built-in kinds against light structural schemas. Reports only; never changes the object.

import type { ValidateFunction } from 'ajv';
import { createAjv } from './ajv-instance.js';
import { CORE_KIND_SCHEMAS, METADATA_SCHEMA } from './core-schemas.js';
import { crdValidators } from './crd-schema.js';
import { EFFECT } from './effects.js';
import { describeObject } from './object-ref.js';
import type { Problem, Severity } from './problem.js';
import { schemaFindings } from './schema-errors.js';

export const CRD_KINDS = ['MultiNetworkPolicy', 'NetworkAttachmentDefinition'] as const;
export const KNOWN_KINDS: readonly string[] = [...CRD_KINDS, ...Object.keys(CORE_KIND_SCHEMAS)];

/** What an invalid object of each kind leads to. */
const INVALID_EFFECT: Record<string, string> = {
  MultiNetworkPolicy: EFFECT.policyFailsClosed,
  NetworkAttachmentDefinition: EFFECT.invalidFieldsIgnored,
  Pod: EFFECT.invalidFieldsIgnored,
  Namespace: EFFECT.invalidFieldsIgnored,
  Node: EFFECT.invalidFieldsIgnored,
};

interface CoreValidators {
  metadata: ValidateFunction;
  byKind: Map<string, ValidateFunction>;
}

let core: CoreValidators | undefined;

function coreValidators(): CoreValidators {
  if (!core) {
    const ajv = createAjv();
    const byKind = new Map<string, ValidateFunction>();
    for (const [kind, schema] of Object.entries(CORE_KIND_SCHEMAS))
      if (schema) byKind.set(kind, ajv.compile(schema));
    core = { metadata: ajv.compile(METADATA_SCHEMA), byKind };
  }
  return core;
}

export function validateObject(obj: unknown, source?: string): Problem[] {
  const problems: Problem[] = [];
  const object = describeObject(obj);
  const add = (severity: Severity, path: string, message: string, effect: string): void => {
    problems.push({ severity, object, path, message, effect, ...(source ? { source } : {}) });
  };
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    add('error', '', 'is not an object', EFFECT.objectIgnored);
    return problems;
  }
  const { kind, apiVersion } = obj as { kind?: unknown; apiVersion?: unknown };
  if (typeof kind !== 'string' || !KNOWN_KINDS.includes(kind)) {
    add(
      'error',
      'kind',
      typeof kind === 'string' ? `unknown kind "${kind}"` : 'kind is missing',
      EFFECT.objectIgnored,
    );
    return problems;
  }
  const effect = INVALID_EFFECT[kind] ?? EFFECT.invalidFieldsIgnored;
  const validators = coreValidators();
  if (!validators.metadata(obj)) {
    for (const f of schemaFindings(validators.metadata.errors)) {
      // Without a name the object cannot be referred to at all.
      add('error', f.path, f.message, f.path === 'metadata.name' ? EFFECT.objectIgnored : effect);
    }
  }
  if ((CRD_KINDS as readonly string[]).includes(kind)) {
    const crds = crdValidators();
    const validator = crds.byVersionKind.get(`${String(apiVersion)} ${kind}`);
    if (!validator) {
      const served = (crds.versionsByKind.get(kind) ?? []).join(', ');
      add(
        'error',
        'apiVersion',
        `apiVersion ${JSON.stringify(apiVersion)} is not served (served: ${served})`,
        effect,
      );
      return problems;
    }
    // Most objects pass the closed schema, and then the structural one too (crd-schema.ts).
    const closedOk = validator.closed(obj);
    const closedErrors = validator.closed.errors;
    if (!closedOk || !validator.closedImpliesValid) {
      const structural = validator.structural();
      if (!structural(obj)) {
        for (const f of schemaFindings(structural.errors)) add('error', f.path, f.message, effect);
      }
    }
    if (!closedOk) {
      for (const f of schemaFindings(closedErrors)) {
        if (f.unknownField) add('warning', f.path, f.message, EFFECT.fieldPruned);
      }
    }
    return problems;
  }
  if (apiVersion !== 'v1')
    add(
      'warning',
      'apiVersion',
      `expected "v1", got ${JSON.stringify(apiVersion)}`,
      'the object is read as v1',
    );
  const kindValidator = validators.byKind.get(kind);
  if (kindValidator && !kindValidator(obj)) {
    for (const f of schemaFindings(kindValidator.errors)) add('error', f.path, f.message, effect);
  }
  return problems;
}
