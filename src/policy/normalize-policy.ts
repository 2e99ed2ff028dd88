// One MultiNetworkPolicy -> NormalizedPolicy. The CRD schema has no validation or defaulting, and
// the raw object may even have failed the schema, so every field is read defensively. Every
// problem is reported with the closed choice taken instead; this function never throws.

import type { MultiNetworkPolicy } from '../cluster/objects.js';
import type { Problem } from '../cluster/problem.js';
import { normalizePeers } from './normalize-peers.js';
import { normalizePorts } from './normalize-ports.js';
import { parsePolicyFor } from './policy-for.js';
import { isRecord, type ProblemScope, scopedProblem, show } from './problem-scope.js';
import { compileSelector, matchAllSelector } from './selector.js';
import type { Direction, NormalizedPolicy, NormalizedRule, Selector } from './types.js';

export interface NormalizeResult {
  policy: NormalizedPolicy;
  problems: Problem[];
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Whether NetworkPolicy defaulting adds Egress: only for a non-empty egress list (`egress: []`
 * isolates nothing, as in SetDefaults_NetworkPolicy and the iptables/nftables peers). An egress
 * field that is not a list cannot be read, so it isolates (the rules it holds allow nothing).
 */
function defaultsToEgress(egress: unknown): boolean {
  if (egress === undefined || egress === null) return false;
  return Array.isArray(egress) ? egress.length > 0 : true;
}

/** Effective policyTypes, following NetworkPolicy defaulting when the field is absent or empty. */
function effectivePolicyTypes(
  spec: Record<string, unknown>,
  scope: ProblemScope,
  problems: Problem[],
): { ingress: boolean; egress: boolean } {
  const raw = spec.policyTypes;
  const defaulted = { ingress: true, egress: defaultsToEgress(spec.egress) };
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) return defaulted;
  // When the intent is unreadable, isolate both directions: that can only remove access.
  const both = { ...scope, effect: 'the policy isolates both ingress and egress' };
  if (!Array.isArray(raw)) {
    problems.push(scopedProblem(both, 'spec.policyTypes', `must be a list, got ${show(raw)}`));
    return { ingress: true, egress: true };
  }
  const result = { ingress: false, egress: false };
  let unknown = false;
  raw.forEach((item: unknown, i) => {
    // Peers compare case-insensitively (iptables uses EqualFold); accept "ingress" as well.
    const lower = typeof item === 'string' ? item.toLowerCase() : undefined;
    if (lower === 'ingress') result.ingress = true;
    else if (lower === 'egress') result.egress = true;
    else {
      // A typo beside a valid type ("Ingress", "Egres") may have meant the other direction.
      unknown = true;
      problems.push(
        scopedProblem(both, `spec.policyTypes[${i}]`, `unknown policy type ${show(item)} (Ingress, Egress)`),
      );
    }
  });
  if (unknown) return { ingress: true, egress: true };
  if (!result.ingress && !result.egress) {
    problems.push(scopedProblem(both, 'spec.policyTypes', 'no valid policy type'));
    return { ingress: true, egress: true };
  }
  return result;
}

function normalizeRules(
  spec: Record<string, unknown>,
  direction: Direction,
  policyName: string,
  object: string,
  problems: Problem[],
): NormalizedRule[] {
  const raw = spec[direction];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push({
      severity: 'error',
      object,
      path: `spec.${direction}`,
      message: `must be a list, got ${show(raw)}`,
      effect: `no ${direction} rule of this policy allows anything`,
    });
    return [];
  }
  const rules: NormalizedRule[] = [];
  raw.forEach((rule: unknown, index) => {
    const scope: ProblemScope = {
      object,
      path: `spec.${direction}[${index}]`,
      effect: 'this rule allows nothing',
    };
    if (!isRecord(rule)) {
      problems.push(scopedProblem(scope, '', `rule must be an object, got ${show(rule)}`));
      return;
    }
    const peersField = direction === 'ingress' ? 'from' : 'to';
    rules.push({
      origin: { policy: policyName, direction, index },
      peers: normalizePeers(rule[peersField], peersField, scope, problems),
      ports: normalizePorts(rule.ports, scope, problems),
    });
  });
  return rules;
}

export function normalizePolicy(raw: MultiNetworkPolicy): NormalizeResult {
  const problems: Problem[] = [];
  const obj: Record<string, unknown> = isRecord(raw) ? raw : {};
  const metadata = isRecord(obj.metadata) ? obj.metadata : {};
  // A namespaced object without a namespace lands in "default", as kubectl would put it.
  const namespace = nonEmptyString(metadata.namespace) ?? 'default';
  const name = nonEmptyString(metadata.name) ?? '<unnamed>';
  const object = `MultiNetworkPolicy ${namespace}/${name}`;
  const policyName = `${namespace}/${name}`;
  const closedEffect = `the policy selects every pod in namespace ${namespace} and allows nothing`;

  const policyFor = parsePolicyFor(obj.metadata, namespace, object);
  problems.push(...policyFor.problems);

  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  if (!spec) {
    problems.push({
      severity: 'error',
      object,
      path: 'spec',
      message: `must be an object, got ${show(obj.spec)}`,
      effect: closedEffect,
    });
  }
  const specFields = spec ?? {};

  let podSelector: Selector | undefined;
  const rawSelector = specFields.podSelector;
  if (spec && (rawSelector === undefined || rawSelector === null)) {
    problems.push({
      severity: 'error',
      object,
      path: 'spec.podSelector',
      message: 'is required (use {} to select every pod)',
      effect: closedEffect,
    });
  } else if (spec) {
    const compiled = compileSelector(rawSelector, { object, path: 'spec.podSelector', effect: closedEffect });
    problems.push(...compiled.problems);
    podSelector = compiled.selector;
  }

  const types = effectivePolicyTypes(specFields, { object, path: '', effect: '' }, problems);
  // Rules are normalised even for an invalid selector, so all their problems are reported.
  const ingressRules = normalizeRules(specFields, 'ingress', policyName, object, problems);
  const egressRules = normalizeRules(specFields, 'egress', policyName, object, problems);
  const selectorInvalid = podSelector === undefined;

  return {
    policy: {
      namespace,
      name,
      networks: policyFor.networks,
      podSelector: podSelector ?? matchAllSelector(),
      selectorInvalid,
      ingress: types.ingress,
      egress: types.egress,
      ingressRules: selectorInvalid ? [] : ingressRules,
      egressRules: selectorInvalid ? [] : egressRules,
    },
    problems,
  };
}
