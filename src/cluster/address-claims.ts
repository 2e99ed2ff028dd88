// Two live pods that claim one address on one network: the later pod (in input order) loses it.
// Left to both, each pod would get the other's allowances; the API server never lets this happen.

import { ANNOTATION } from './objects.js';
import type { Problem } from './problem.js';
import type { PodInfo } from './snapshot.js';

/** Addresses a pod claims on its networks: "network ip" keys, none for a pod that is gone. */
export function addressClaims(pod: PodInfo): string[] {
  if (pod.hostNetwork || pod.phase === 'Succeeded' || pod.phase === 'Failed') return [];
  return pod.interfaces.flatMap((i) => i.ips.map((ip) => `${i.network} ${ip}`));
}

/** Owner ("namespace/name") of each address claimed by exactly one live pod, and whether any was shared. */
export interface AddressClaims {
  owners: Map<string, string>;
  shared: boolean;
}

/**
 * An address that a live pod claims on a network where an earlier pod (in input order, the files'
 * order for a manifests directory) already has it is removed from the later pod (in a copy of its
 * PodInfo). Left to both, each pod would get the other's allowances (a policy that allows one
 * allows the address); the API server never lets this happen. The earlier pod keeps it, so its own
 * isolation, reached through the address, stays in place.
 */
export function releaseSharedAddresses(
  pods: PodInfo[],
  sources: (string | undefined)[],
  problems: Problem[],
): AddressClaims {
  const owners = new Map<string, string>();
  let shared = false;
  pods.forEach((pod, i) => {
    const who = `${pod.namespace}/${pod.name}`;
    const lost = new Set<string>();
    for (const claim of addressClaims(pod)) {
      const owner = owners.get(claim);
      if (owner === undefined) owners.set(claim, who);
      else if (owner !== who) {
        lost.add(claim);
        const [network, ip] = claim.split(' ') as [string, string];
        problems.push({
          severity: 'error',
          object: `Pod ${who}`,
          path: `metadata.annotations["${ANNOTATION.networkStatus}"]`,
          message: `address ${ip} on network ${network} is already claimed by Pod ${owner}`,
          effect: 'the address is removed from this pod: no policy that selects it allows the address',
          ...(sources[i] ? { source: sources[i] } : {}),
        });
      }
    }
    if (lost.size === 0) return;
    shared = true;
    pods[i] = {
      ...pod,
      interfaces: pod.interfaces.map((itf) => ({
        ...itf,
        ips: itf.ips.filter((ip) => !lost.has(`${itf.network} ${ip}`)),
      })),
    };
  });
  return { owners, shared };
}

/**
 * The address owners after pods are replaced (before, after), or undefined when a new address is
 * another pod's (the full build then releases it). The map is copied only when addresses change.
 */
export function reclaimed(claims: AddressClaims, swaps: [PodInfo, PodInfo][]): AddressClaims | undefined {
  let owners = claims.owners;
  for (const [before, after] of swaps) {
    const was = addressClaims(before);
    const now = addressClaims(after);
    if (was.length === now.length && was.every((c, i) => c === now[i])) continue;
    if (owners === claims.owners) owners = new Map(owners);
    const who = `${after.namespace}/${after.name}`;
    for (const c of was) if (owners.get(c) === who) owners.delete(c);
    for (const c of now) {
      const owner = owners.get(c);
      if (owner !== undefined && owner !== who) return undefined;
      owners.set(c, who);
    }
  }
  return owners === claims.owners ? claims : { owners, shared: false };
}
