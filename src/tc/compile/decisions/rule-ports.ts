// Per-destination and per-source port decisions, computed from the resolved policy model.
// These are the compile-time halves of the reference semantics: which ports a rule set allows
// towards (or from) one address.

import type { AddressBlock, ManagedInterface, PortSet, ResolvedRule } from '../../../policy/types.js';
import {
  ALL_PORTS,
  emptyPortSet,
  resolvePorts,
  portSetUnion,
  portSetIntersect,
} from '../../../policy/ports.js';
import type { Family } from '../../../util/ip/index.js';
import type { CompileMemo } from '../reuse/compile-memo.js';
import {
  findInterval,
  FULL_SPACE,
  normalizeIntervals,
  parseCidrInterval,
  subtractIntervals,
  type Interval,
} from '../../../util/ip/index.js';

export const NO_PORTS: PortSet = emptyPortSet();

// Resolved rules are shared by every interface they apply to and never change once built, so
// their intervals are computed once per memo (the compiler asks for them per source, destination
// and port).

/** The addresses a rule's peers cover, in one family (sorted, merged). */
export function ruleIntervals(memo: CompileMemo, rule: ResolvedRule, family: Family): Interval[] {
  let cached = memo.ruleIntervals.get(rule);
  if (!cached) {
    cached = {};
    memo.ruleIntervals.set(rule, cached);
  }
  const hit = cached[family];
  if (hit) return hit;
  let out: Interval[];
  if (rule.peers.kind === 'any') out = [FULL_SPACE[family]];
  else out = normalizeIntervals(rule.peers.blocks.flatMap((b) => blockIntervals(memo, b, family)));
  cached[family] = out;
  return out;
}

// Blocks are shared by every rule that lists them, and kept when a rule is rebuilt after a pod
// change (src/policy/update-model.ts): parse each once per memo.
export function blockIntervals(memo: CompileMemo, block: AddressBlock, family: Family): Interval[] {
  let cached = memo.blockIntervals.get(block);
  if (!cached) memo.blockIntervals.set(block, (cached = {}));
  return (cached[family] ??= parseBlock(block, family));
}

function parseBlock(block: AddressBlock, family: Family): Interval[] {
  const base = parseCidrInterval(block.cidr);
  if (!base || base.family !== family) return [];
  const holes: Interval[] = [];
  for (const e of block.except) {
    const h = parseCidrInterval(e);
    if (h && h.family === family) holes.push(h.interval);
  }
  return subtractIntervals([base.interval], holes);
}

/** Ports that `rules` allow for the peer address `addr`, with named ports resolved on `dst`. */
export function portsForPeer(
  memo: CompileMemo,
  rules: ResolvedRule[],
  family: Family,
  addr: bigint,
  dst: ManagedInterface | undefined,
): PortSet {
  let acc: PortSet = NO_PORTS;
  for (const r of rules) {
    if (findInterval(ruleIntervals(memo, r, family), addr, (iv) => iv) >= 0) {
      acc = portSetUnion(acc, resolvePorts(r.ports, dst?.podInfo));
    }
  }
  return acc;
}

/** Whether some rule's peers cover the address `addr`. */
export function rulesCover(
  memo: CompileMemo,
  rules: readonly ResolvedRule[],
  family: Family,
  addr: bigint,
): boolean {
  return rules.some((r) => findInterval(ruleIntervals(memo, r, family), addr, (iv) => iv) >= 0);
}

/** Whether a rule lists named ports (they resolve on each destination pod). */
export function hasNamedPorts(r: ResolvedRule): boolean {
  return r.ports.kind === 'list' && r.ports.entries.some((e) => e.kind === 'named');
}

// Rule lists are never changed once built, and a VF's list is asked about for every pair.
/** Whether some rule of the list has named ports (remembered per list). */
export function anyNamedPorts(memo: CompileMemo, rules: readonly ResolvedRule[]): boolean {
  let named = memo.namedLists.get(rules);
  if (named === undefined) memo.namedLists.set(rules, (named = rules.some(hasNamedPorts)));
  return named;
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
