// A problem found in an input object. Problems are never fatal: each says what the agent does
// instead (always the closed choice), so an operator can read why traffic is denied.

export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  /** "Kind namespace/name", e.g. "MultiNetworkPolicy app/allow-db". */
  object: string;
  /** JSON-style field path, e.g. "spec.ingress[0].ports[1].port". Empty for the whole object. */
  path: string;
  /** What is wrong. */
  message: string;
  /** What the agent does about it, e.g. "this port entry allows nothing". */
  effect: string;
  /** Source location in a manifests directory, when known: "file.yaml#2" (document index). */
  source?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.path ? `${p.object} ${p.path}` : p.object;
  const src = p.source ? ` [${p.source}]` : '';
  return `${p.severity}: ${where}: ${p.message}; ${p.effect}${src}`;
}
