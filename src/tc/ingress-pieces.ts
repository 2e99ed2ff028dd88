// What a pod interface's ingress rules allow, per source address: disjoint address pieces with
// the ports allowed from them (named ports resolved on the pod itself), kept per rule list. The
// uplink writes them as the pod's source chain, and every VF of the node looks up its own
// addresses in them (a binary search instead of walking every rule for every source).

import type { ManagedInterface, PortSet, ResolvedRule } from '../policy/types.js';
import { portSetIsEmpty, portSetKey, resolvePorts } from '../policy/ports.js';
import { findInterval, partition, type Contribution, type Piece } from './address-space.js';
import { hasNamedPorts, NO_PORTS, portSetUnion, ruleIntervals } from './decision.js';
import { namedPortsKey } from './compile-cache.js';
import type { Family } from './encapsulation.js';

// Per rule list (a new list with every change of the pod's policies), then per named ports of the
// pod when the rules have named ports ('' otherwise).
const memo = new WeakMap<readonly ResolvedRule[], Map<string, Partial<Record<Family, Piece<PortSet>[]>>>>();

/** Sources `q`'s ingress rules allow in one family, sorted; sources allowed nothing are left out. */
export function ingressPieces(q: ManagedInterface, family: Family): Piece<PortSet>[] {
  const rules = q.ingress.rules;
  const named = rules.some(hasNamedPorts) ? namedPortsKey(q.podInfo) : '';
  let byNamed = memo.get(rules);
  if (!byNamed) memo.set(rules, (byNamed = new Map()));
  let byFamily = byNamed.get(named);
  if (!byFamily) byNamed.set(named, (byFamily = {}));
  return (byFamily[family] ??= build(q, family));
}

/** The ports `q`'s ingress rules allow from the source address `addr`. */
export function ingressAt(q: ManagedInterface, family: Family, addr: bigint): PortSet {
  const pieces = ingressPieces(q, family);
  const i = findInterval(pieces, addr, (p) => p.interval);
  return i >= 0 ? pieces[i]!.value : NO_PORTS;
}

function build(q: ManagedInterface, family: Family): Piece<PortSet>[] {
  const contributions: Contribution<PortSet>[] = q.ingress.rules.map((r) => ({
    intervals: ruleIntervals(r, family),
    value: resolvePorts(r.ports, q.podInfo),
  }));
  return partition(contributions, (vs) => vs.reduce(portSetUnion, NO_PORTS), portSetKey).filter(
    (p) => !portSetIsEmpty(p.value),
  );
}
