// A VF's egress rules as a fragment of chain 2 (with its port chains): what the pod may open to
// destinations off its node, by address.

import { type AddressMapState, emitPortMap } from '../chains/address-map.js';
import { type ChainFragment, ChainSet, sortFilters } from '../chains/chain-set.js';
import { describeAllowed } from '../chains/vocabulary.js';
import { ownersIn } from './interface-addresses.js';
import { ALL_PORTS, hasNamedPorts, NO_PORTS, portSetUnion, ruleIntervals } from './rule-ports.js';
import type { CompileMemo } from '../reuse/compile-memo.js';
import { portSetKey, resolvePorts } from '../../../policy/ports.js';
import type { ManagedInterface, PortSet, ResolvedRule } from '../../../policy/types.js';
import {
  type Contribution,
  type Family,
  findInterval,
  type Interval,
  partition,
  type Piece,
} from '../../../util/ip/index.js';

/** A VF's egress rules in one family: as chain 2 filters, and as the ports allowed per address. */
export interface EgressPart {
  /** The filters and port chains of the egress rules (none when egress is not isolated). */
  fragment?: ChainFragment;
  /** The ports the egress rules allow to one address. */
  valueAt: (addr: bigint) => PortSet;
  /** The pieces the part was written from (isolated egress only), for patching the next version. */
  pieces?: Piece<PortSet>[];
  /** The address map, for building the next version of this part. */
  map?: AddressMapState;
  /** The name of its pieces in the compile cache (see egressPart). */
  content?: string;
}

/** Egress that is not isolated allows everything and writes no filters (one object, so it never differs). */
export const UNISOLATED_EGRESS: EgressPart = { valueAt: () => ALL_PORTS };

/**
 * The part written from its pieces, in a chain set of its own (so that it can be cached and
 * replayed into a device's set); `previous`: the address map of the part it replaces.
 */
export function buildEgressPart(
  family: Family,
  pieces: Piece<PortSet>[],
  content?: string,
  previous?: AddressMapState,
): EgressPart {
  const set = new ChainSet();
  let map: AddressMapState | undefined;
  const captured = set.capture((frag) => {
    map = emitPortMap(
      set,
      frag,
      family,
      'dstIp',
      pieces,
      (ps) => `new connection: ${describeAllowed(ps)} to these destinations (the pod's egress rules)`,
      previous,
    );
  });
  // Sorted by prio once here: the VFs with this part merge it into their chain +2 (see vfTail).
  return {
    fragment: { filters: sortFilters(captured.filters), chains: captured.chains },
    valueAt: (addr) => pieces[findInterval(pieces, addr, (p) => p.interval)]?.value ?? NO_PORTS,
    pieces,
    map,
    content,
  };
}

/** The source's egress rules as disjoint address pieces with the ports each piece allows. */
export function egressPieces(
  memo: CompileMemo,
  rules: readonly ResolvedRule[],
  family: Family,
  network: readonly ManagedInterface[] | undefined,
): Piece<PortSet>[] {
  const contributions: Contribution<PortSet>[] = [];
  for (const r of rules) {
    const intervals = ruleIntervals(memo, r, family);
    if (intervals.length === 0) continue;
    contributions.push({ intervals, value: resolvePorts(r.ports, undefined) });
    if (hasNamedPorts(r)) contributions.push(...namedPortContributions(memo, r, family, network ?? []));
  }
  return partition(contributions, (vs) => vs.reduce(portSetUnion, NO_PORTS), portSetKey);
}

// Kept in the memo per network array, then per rule and family. Rules are shared by every pod
// they apply to, and NodeCompiler keeps the array while its pods are the same; a replaced array
// takes its entries with it (keyed the other way round, a long-lived rule would keep old arrays
// alive).

/** Named ports resolve on the destination pod: one contribution per pod address the rule covers. */
function namedPortContributions(
  memo: CompileMemo,
  r: ResolvedRule,
  family: Family,
  network: readonly ManagedInterface[],
): Contribution<PortSet>[] {
  let byRule = memo.namedContributions.get(network);
  if (!byRule) memo.namedContributions.set(network, (byRule = new WeakMap()));
  let cached = byRule.get(r);
  if (!cached) byRule.set(r, (cached = {}));
  return (cached[family] ??= ownersIn(memo, network, family, ruleIntervals(memo, r, family)).map((x) => ({
    intervals: [[x.value, x.value] as Interval],
    value: resolvePorts(r.ports, x.iface.podInfo),
  })));
}
