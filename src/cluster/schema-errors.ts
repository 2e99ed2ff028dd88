// Turns ajv errors into short findings an operator can read: a field path and what is wrong with it.

import type { ErrorObject } from 'ajv';
import { childPath, pointerToFieldPath } from './field-path.js';

export interface SchemaFinding {
  path: string;
  message: string;
  /** The field is not in the schema (the API server would prune it), as opposed to invalid. */
  unknownField: boolean;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function typeNames(t: unknown): string {
  const list = (Array.isArray(t) ? t : [t]).map((x) => article(String(x)));
  return list.join(' or ');
}

function anyOfTypes(schema: unknown): string {
  const types = Array.isArray(schema) ? schema.map((s) => (s as { type?: unknown }).type) : [];
  return types.every((t) => typeof t === 'string') ? typeNames(types) : 'one of the allowed forms';
}

function findingOf(e: ErrorObject): SchemaFinding {
  const at = pointerToFieldPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return {
        path: childPath(at, String(params.missingProperty)),
        message: 'is required',
        unknownField: false,
      };
    case 'additionalProperties':
      return {
        path: childPath(at, String(params.additionalProperty)),
        message: 'unknown field',
        unknownField: true,
      };
    case 'type':
      return {
        path: at,
        message: `must be ${typeNames(params.type)}, got ${describeValue(e.data)}`,
        unknownField: false,
      };
    case 'anyOf':
      return {
        path: at,
        message: `must be ${anyOfTypes(e.schema)}, got ${describeValue(e.data)}`,
        unknownField: false,
      };
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.join(', ') : '?';
      return {
        path: at,
        message: `must be one of ${allowed}, got ${describeValue(e.data)}`,
        unknownField: false,
      };
    }
    default:
      return { path: at, message: e.message ?? `fails ${e.keyword}`, unknownField: false };
  }
}

/** One finding per real problem: the failures of each anyOf branch are folded into the anyOf. */
export function schemaFindings(errors: ErrorObject[] | null | undefined): SchemaFinding[] {
  const all = errors ?? [];
  // Distinct schema paths: a list of 100,000 bad entries fails the same anyOf 100,000 times.
  const anyOfPaths = [...new Set(all.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`))];
  return all.filter((e) => !anyOfPaths.some((p) => e.schemaPath.startsWith(p))).map(findingOf);
}
