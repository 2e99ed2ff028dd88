// What a pod interface's ingress rules allow, per source address: disjoint address pieces with
// the ports allowed from them (named ports resolved on the pod itself), kept per rule list. The
// uplink writes them as the pod's source chain, and every VF of the node looks up its own
// addresses in them (a binary search instead of walking every rule for every source).

import type { ManagedInterface, PortSet, ResolvedRule } from '../../../policy/types.js';
import { portSetIsEmpty, portSetKey, resolvePorts } from '../../../policy/ports.js';
import { findInterval, partition, type Contribution, type Piece } from '../../../util/ip/index.js';
import { anyNamedPorts, NO_PORTS, portSetUnion, portsForPeer, ruleIntervals } from './rule-ports.js';
import { changedAddresses } from '../reuse/same-inputs.js';
import { patchPieces, patchPoints } from '../reuse/patch-pieces.js';
import type { Family } from '../../../util/ip/index.js';
import type { CompileMemo } from '../reuse/compile-memo.js';

// Kept in the memo per rule list (a new list with every change of the pod's policies), then per
// named ports of the pod when the rules have named ports ('' otherwise).

/** Sources `dst`'s ingress rules allow in one family, sorted; sources allowed nothing are left out. */
export function ingressPieces(memo: CompileMemo, dst: ManagedInterface, family: Family): Piece<PortSet>[] {
  const rules = dst.ingress.rules;
  const named = anyNamedPorts(memo, rules) ? memo.namedPortsKey(dst.podInfo) : '';
  let byNamed = memo.ingressPieces.get(rules);
  if (!byNamed) memo.ingressPieces.set(rules, (byNamed = new Map()));
  let byFamily = byNamed.get(named);
  if (!byFamily) byNamed.set(named, (byFamily = {}));
  return (byFamily[family] ??= named ? build(memo, dst, family) : patchedOrBuilt(memo, dst, family));
}

/** The ports `dst`'s ingress rules allow from the source address `addr`. */
export function ingressAt(memo: CompileMemo, dst: ManagedInterface, family: Family, addr: bigint): PortSet {
  const pieces = ingressPieces(memo, dst, family);
  const i = findInterval(pieces, addr, (p) => p.interval);
  return i >= 0 ? pieces[i]!.value : NO_PORTS;
}

// The memo's lastIngressList: the last rule list each rule was seen in (lists without named
// ports, whose pieces depend on the rules alone): the list an update made from it finds it
// through any of its rules.

/**
 * Rules an update replaced at a few addresses (the update's ModelDelta) take the pieces of
 * their last list with those addresses decided again (see patchPieces); other rules are
 * partitioned. The same pieces either way.
 */
function patchedOrBuilt(memo: CompileMemo, dst: ManagedInterface, family: Family): Piece<PortSet>[] {
  const rules = dst.ingress.rules;
  let pieces: Piece<PortSet>[] | undefined;
  const first = rules[0];
  const before = first && (memo.lastIngressList.get(first) ?? lastListOfPrevious(memo, first));
  const last = before && before !== rules ? memo.ingressPieces.get(before)?.get('')?.[family] : undefined;
  const at = last && changedAddresses(memo, rules, before!);
  if (at) {
    // A source allowed nothing is left out of the pieces: a gap, as where no rule covers it.
    const points = patchPoints(at, family, (v) => {
      const value = portsForPeer(memo, rules as ResolvedRule[], family, v, undefined);
      return portSetIsEmpty(value) ? undefined : value;
    });
    pieces = patchPieces(last!, points);
  }
  for (const r of rules) memo.lastIngressList.set(r, rules);
  return pieces ?? build(memo, dst, family);
}

function lastListOfPrevious(memo: CompileMemo, r: ResolvedRule): readonly ResolvedRule[] | undefined {
  const change = memo.ruleChanges.get(r);
  return change && memo.lastIngressList.get(change.previous);
}

function build(memo: CompileMemo, dst: ManagedInterface, family: Family): Piece<PortSet>[] {
  const contributions: Contribution<PortSet>[] = dst.ingress.rules.map((r) => ({
    intervals: ruleIntervals(memo, r, family),
    value: resolvePorts(r.ports, dst.podInfo),
  }));
  return partition(contributions, (vs) => vs.reduce(portSetUnion, NO_PORTS), portSetKey).filter(
    (p) => !portSetIsEmpty(p.value),
  );
}
