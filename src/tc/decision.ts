// Per-destination and per-source port decisions, computed from the resolved policy model.
// These are the compile-time halves of the reference semantics: which ports a rule set allows
// towards (or from) one address.

import type { AddressBlock, ManagedInterface, PortSet, ResolvedRule } from '../policy/types.js';
import { ALL_PORTS, emptyPortSet, resolvePorts, portSetUnion, portSetIntersect } from '../policy/ports.js';
import type { Family } from './encapsulation.js';
import { FULL_SPACE, parseCidrInterval, subtractIntervals, type Interval } from './address-space.js';

export const NO_PORTS: PortSet = emptyPortSet();

/** The addresses a rule's peers cover, in one family. */
export function ruleIntervals(rule: ResolvedRule, family: Family): Interval[] {
  if (rule.peers.kind === 'any') return [FULL_SPACE[family]];
  const out: Interval[] = [];
  for (const b of rule.peers.blocks) out.push(...blockIntervals(b, family));
  return out;
}

export function blockIntervals(block: AddressBlock, family: Family): Interval[] {
  const base = parseCidrInterval(block.cidr);
  if (!base || base.family !== family) return [];
  const holes: Interval[] = [];
  for (const e of block.except) {
    const h = parseCidrInterval(e);
    if (h && h.family === family) holes.push(h.interval);
  }
  return subtractIntervals([base.interval], holes);
}

function contains(intervals: Interval[], v: bigint): boolean {
  return intervals.some(([lo, hi]) => v >= lo && v <= hi);
}

/** Ports that `rules` allow for the peer address `addr`, with named ports resolved on `dst`. */
export function portsForPeer(
  rules: ResolvedRule[],
  family: Family,
  addr: bigint,
  dst: ManagedInterface | undefined,
): PortSet {
  let acc: PortSet = NO_PORTS;
  for (const r of rules) {
    if (contains(ruleIntervals(r, family), addr)) {
      acc = portSetUnion(acc, resolvePorts(r.ports, dst?.podInfo));
    }
  }
  return acc;
}

/** Ports allowed by rules whose peers are every address (used when the source address is unknown). */
export function portsForAnyPeer(rules: ResolvedRule[], dst: ManagedInterface | undefined): PortSet {
  let acc: PortSet = NO_PORTS;
  for (const r of rules) {
    if (r.peers.kind === 'any') acc = portSetUnion(acc, resolvePorts(r.ports, dst?.podInfo));
  }
  return acc;
}

export { ALL_PORTS, portSetIntersect, portSetUnion };
