// Whether two versions of model objects read the same for the compiler: equal addresses, equal
// named ports, rule lists that an update changed only at other addresses (its ModelDelta).

import type { CompileMemo } from './compile-memo.js';
import { portSetKey } from '../../../policy/ports.js';
import type { DirectionPolicy, ManagedInterface, PortSet, ResolvedRule } from '../../../policy/types.js';
import type { Contribution } from '../../../util/ip/index.js';

/** Equal address lists (a changed pod gets new arrays, mostly with the same addresses). */
export function sameIps(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

/**
 * Where `next` differs from `prev`: the addresses of the changed pods, when every rule is the old
 * one or an update's replacement of it (as recorded from its ModelDelta in `memo`); undefined when
 * the lists are otherwise different.
 */
export function changedAddresses(
  memo: CompileMemo,
  next: readonly ResolvedRule[],
  prev: readonly ResolvedRule[],
): Set<string> | undefined {
  // A VF's rules are compared with their last version once per peer: remember the last answer.
  const hit = memo.changedAt.get(next);
  if (hit && hit.prev === prev) return hit.at;
  const at = walkChanges(memo, next, prev);
  // Keep one step: `prev`'s own answer would hold the list before it, and so on back through
  // every version of a rule list the agent ever compiled (the heap grew ~26 KiB per label change).
  memo.changedAt.delete(prev);
  memo.changedAt.set(next, { prev, at });
  return at;
}

function walkChanges(
  memo: CompileMemo,
  next: readonly ResolvedRule[],
  prev: readonly ResolvedRule[],
): Set<string> | undefined {
  if (next.length !== prev.length) return undefined;
  const at = new Set<string>();
  for (let i = 0; i < next.length; i++) {
    const n = next[i]!;
    if (n === prev[i]) continue;
    const change = memo.ruleChanges.get(n);
    if (!change || change.previous !== prev[i]) return undefined;
    for (const ip of change.addresses) at.add(ip);
  }
  return at;
}

/**
 * Rule lists that decide the same for peers at `ips`: the same rules, or rules an update replaced
 * that differ from the old ones only at other addresses.
 */
export function sameRulesAt(
  memo: CompileMemo,
  next: readonly ResolvedRule[],
  prev: readonly ResolvedRule[],
  ips: readonly string[],
): boolean {
  if (next === prev) return true;
  const at = changedAddresses(memo, next, prev);
  return at !== undefined && !ips.some((ip) => at.has(ip));
}

/** Direction policies that decide the same for peers at `ips` (see sameRulesAt). */
export function sameDirectionAt(
  memo: CompileMemo,
  a: DirectionPolicy,
  b: DirectionPolicy,
  ips: readonly string[],
): boolean {
  return a === b || (a.isolated === b.isolated && sameRulesAt(memo, a.rules, b.rules, ips));
}

/** Equal decisions from `a` to `dstA` as from `b` to `dstB`: the fields a pair decision reads are the same. */
export function samePairInputs(
  memo: CompileMemo,
  a: ManagedInterface,
  dstA: ManagedInterface,
  b: ManagedInterface,
  dstB: ManagedInterface,
): boolean {
  return (
    (a === b || (sameIps(a.ips, b.ips) && sameDirectionAt(memo, a.egress, b.egress, dstA.ips))) &&
    (dstA === dstB ||
      (sameIps(dstA.ips, dstB.ips) &&
        (dstA.podInfo === dstB.podInfo ||
          memo.namedPortsKey(dstA.podInfo) === memo.namedPortsKey(dstB.podInfo)) &&
        sameDirectionAt(memo, dstA.ingress, dstB.ingress, a.ips)))
  );
}

/** Equal single-address decision lists: the same addresses with the same ports, in order. */
export function sameDecisions(a: Contribution<PortSet>[], b: Contribution<PortSet>[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) =>
        x.intervals.length === 1 &&
        b[i]!.intervals.length === 1 &&
        x.intervals[0]![0] === b[i]!.intervals[0]![0] &&
        x.intervals[0]![1] === b[i]!.intervals[0]![1] &&
        portSetKey(x.value) === portSetKey(b[i]!.value),
    )
  );
}
