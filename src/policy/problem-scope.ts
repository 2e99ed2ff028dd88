// Problems raised while normalising one part of a policy share the object, a base field path and
// the effect on traffic; a scope carries those three so each check only states what is wrong.

import type { Problem, Severity } from '../cluster/problem.js';

export interface ProblemScope {
  /** "MultiNetworkPolicy ns/name" */
  object: string;
  /** Field path of the part being checked, e.g. "spec.ingress[0].from[1]". */
  path: string;
  /** What happens because of a problem here, e.g. "this peer allows nothing". */
  effect: string;
}

/** Appends a child field ("ports") or an index ("[2]") to a field path. */
export function joinPath(base: string, child: string): string {
  if (child === '') return base;
  if (base === '') return child;
  return child.startsWith('[') ? `${base}${child}` : `${base}.${child}`;
}

export function scopedProblem(
  scope: ProblemScope,
  child: string,
  message: string,
  severity: Severity = 'error',
): Problem {
  return { severity, object: scope.object, path: joinPath(scope.path, child), message, effect: scope.effect };
}

/** Plain JSON object (not null, not an array). Raw input may be anything. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON-ish rendering of a raw value for messages, bounded so garbage cannot flood a log line. */
export function show(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
