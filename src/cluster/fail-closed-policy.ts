// A MultiNetworkPolicy that failed validation or is defined more than once is replaced by one
// that isolates and allows nothing: either choice between two definitions could widen.

import type { MultiNetworkPolicy } from './objects.js';
import { ANNOTATION } from './objects.js';
import { objectNamespace } from './object-ref.js';
import { asRecord } from './read-fields.js';

/** Why a MultiNetworkPolicy is replaced by its fail-closed form, and every definition of it. */
export interface ClosedPolicy {
  definitions: MultiNetworkPolicy[];
  duplicate: boolean;
}

/**
 * What the policy engine reads in place of a policy that failed validation or is defined more than
 * once: the same name, namespace and policy-for networks, both directions isolated, no rules. An
 * invalid policy keeps its podSelector (an unreadable one selects every pod of the namespace);
 * a duplicate selects every pod of its namespace (its definitions may select different pods).
 */
export function failClosedPolicy(c: ClosedPolicy): MultiNetworkPolicy {
  const last = c.definitions[c.definitions.length - 1]!;
  const forNetworks = c.definitions
    .map((d) => asRecord(asRecord(d.metadata)?.annotations)?.[ANNOTATION.policyFor])
    .filter((v): v is string => typeof v === 'string');
  const annotations = forNetworks.length > 0 ? { [ANNOTATION.policyFor]: forNetworks.join(',') } : {};
  const podSelector = c.duplicate ? {} : (asRecord(last.spec)?.podSelector ?? {});
  return {
    apiVersion: last.apiVersion,
    kind: 'MultiNetworkPolicy',
    metadata: { name: last.metadata.name, namespace: objectNamespace(last), annotations },
    spec: { podSelector, policyTypes: ['Ingress', 'Egress'] },
  } as MultiNetworkPolicy;
}
