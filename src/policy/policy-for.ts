// The k8s.v1.cni.cncf.io/policy-for annotation: which networks (NADs) a policy applies to.

import type { Problem } from '../cluster/problem.js';
import { ANNOTATION } from '../cluster/objects.js';
import { isRecord, show } from './problem-scope.js';

export interface PolicyForResult {
  /** "namespace/name", sorted and de-duplicated. */
  networks: string[];
  problems: Problem[];
}

/**
 * Parses the annotation from raw metadata: comma-separated items, whitespace ignored, empty items
 * skipped, bare names qualified with the policy's namespace. Items with more than one "/" or an
 * empty part are reported and ignored. Without the annotation the policy applies to no network:
 * we cannot guess which network was meant, and matching every network would be a bigger surprise.
 */
export function parsePolicyFor(
  rawMetadata: unknown,
  policyNamespace: string,
  object: string,
): PolicyForResult {
  const path = `metadata.annotations[${JSON.stringify(ANNOTATION.policyFor)}]`;
  const problems: Problem[] = [];
  const annotations = isRecord(rawMetadata) ? rawMetadata.annotations : undefined;
  const value = isRecord(annotations) ? annotations[ANNOTATION.policyFor] : undefined;
  if (value === undefined || value === null) {
    problems.push({
      severity: 'warning',
      object,
      path,
      message: 'the policy has no policy-for annotation',
      effect: 'the policy applies to no network',
    });
    return { networks: [], problems };
  }
  if (typeof value !== 'string') {
    problems.push({
      severity: 'error',
      object,
      path,
      message: `must be a string, got ${show(value)}`,
      effect: 'the policy applies to no network',
    });
    return { networks: [], problems };
  }
  const networks = new Set<string>();
  value
    .replace(/\s+/g, '')
    .split(',')
    .forEach((item) => {
      if (item === '') return;
      const parts = item.split('/');
      if (parts.length > 2 || parts.some((p) => p === '')) {
        problems.push({
          severity: 'error',
          object,
          path,
          message: `item ${show(item)} is not "name" or "namespace/name"`,
          effect: 'this item is ignored (the policy does not apply to it)',
        });
        return;
      }
      networks.add(parts.length === 1 ? `${policyNamespace}/${item}` : item);
    });
  if (networks.size === 0 && problems.length === 0) {
    problems.push({
      severity: 'warning',
      object,
      path,
      message: 'the policy-for annotation lists no network',
      effect: 'the policy applies to no network',
    });
  }
  return { networks: [...networks].sort(), problems };
}
