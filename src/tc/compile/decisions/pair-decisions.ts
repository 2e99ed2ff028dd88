// What one VF's pod may open to one other pod interface of its node, and where that differs from
// the VF's egress part.

import { pointAddress } from './point-pieces.js';
import type { EgressPart } from './egress-part.js';
import { ingressAt } from './ingress-pieces.js';
import { addressesOf } from './interface-addresses.js';
import { ALL_PORTS, anyNamedPorts, portSetIntersect, portsForAnyPeer, portsForPeer } from './rule-ports.js';
import type { CompileMemo } from '../reuse/compile-memo.js';
import { portSetKey } from '../../../policy/ports.js';
import type { ManagedInterface, PortSet } from '../../../policy/types.js';
import type { Contribution, Family } from '../../../util/ip/index.js';

/** One destination's decisions that differ from the egress rules alone. */
export interface PairOverrides {
  entries: Contribution<PortSet>[];
  /** The entries' addresses and port sets as text: equal signatures, equal entries. */
  signature: string;
}

const NO_DIFFERENCES: PairOverrides = { entries: [], signature: '' };

/** The entries of `list` whose ports differ from what the egress part alone allows there. */
export function pairOverrides(list: Contribution<PortSet>[], egress: EgressPart): PairOverrides {
  let out: PairOverrides | undefined;
  for (const d of list) {
    const v = pointAddress(d);
    const key = portSetKey(d.value);
    if (key === portSetKey(egress.valueAt(v))) continue;
    out ??= { entries: [], signature: '' };
    out.entries.push(d);
    out.signature += `${v}:${key},`;
  }
  return out ?? NO_DIFFERENCES;
}

/**
 * What `src` may open to the pod interface `dst` of the same node (of any network), per address of `dst`. `egress` is
 * src's egress part of the family: without named ports its pieces give what the egress rules
 * allow to an address (with named ports, those resolve on `dst` itself, so the rules are read).
 */
export function pairDecisions(
  memo: CompileMemo,
  src: ManagedInterface,
  dst: ManagedInterface,
  family: Family,
  egress: EgressPart,
): Contribution<PortSet>[] {
  const dstAddrs = addressesOf(memo, dst, family);
  if (!dst.ingress.isolated || dstAddrs.length === 0) return [];
  const srcAddrs = addressesOf(memo, src, family);
  let ingress: PortSet;
  if (srcAddrs.length === 0) {
    ingress = portsForAnyPeer(dst.ingress.rules, dst);
  } else {
    ingress = ALL_PORTS;
    for (const a of srcAddrs) ingress = portSetIntersect(ingress, ingressAt(memo, dst, family, a));
  }
  const named = src.egress.isolated && anyNamedPorts(memo, src.egress.rules);
  // A named port resolves on a destination pod of the source's network: a destination of another
  // network is an outside address for the egress rules, where it resolves on nothing.
  const owner = dst.network === src.network ? dst : undefined;
  return dstAddrs.map((v) => {
    const allowed = !src.egress.isolated
      ? ALL_PORTS
      : named
        ? portsForPeer(memo, src.egress.rules, family, v, owner)
        : egress.valueAt(v);
    return { intervals: [[v, v]], value: portSetIntersect(allowed, ingress) };
  });
}
