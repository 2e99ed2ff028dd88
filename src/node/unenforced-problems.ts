// Unenforced pod interfaces as Problems on their pods: logged at error level and posted as
// Kubernetes Events (once per problem) by the agent.

import type { Problem } from '../cluster/problem.js';
import { unenforcedEffect, type UnenforcedInterface } from './device-map.js';

export function unenforcedProblems(list: readonly UnenforcedInterface[]): Problem[] {
  return list.map((u) => ({
    severity: 'error',
    object: `Pod ${u.pod}`,
    path: '',
    message: `${u.interface} on ${u.network} is NOT ENFORCED on node ${u.node}: ${u.reason}`,
    effect: `${unenforcedEffect(u.direction)}; the agent keeps looking and filters it as soon as its device or address appears`,
  }));
}
