// The decisions from one VF's pod to every other pod interface of its node, kept per VF: the next
// compile decides again only the pairs whose inputs changed.

import { FAMILIES } from '../chains/vocabulary.js';
import type { EgressPart } from '../decisions/egress-part.js';
import { pairDecisions, type PairOverrides, pairOverrides } from '../decisions/pair-decisions.js';
import { anyNamedPorts } from '../decisions/rule-ports.js';
import type { PeersSince } from '../devices/vf-types.js';
import type { CompileMemo } from './compile-memo.js';
import { sameInputs } from './memo.js';
import { sameDecisions, samePairInputs } from './same-inputs.js';
import type { ManagedInterface, PortSet } from '../../../policy/types.js';
import type { Contribution, Family } from '../../../util/ip/index.js';

/**
 * What one VF's pod may open to each other pod interface of its node (of any network), per
 * family (see prepareVf). A node has (VFs x pods) of these; a row is kept per VF and compared with
 * the next compile's peers one by one, so an unchanged pair costs an identity check.
 */
export interface DecisionRow {
  src: ManagedInterface;
  peers: readonly ManagedInterface[];
  /** The VF's egress parts the differences were taken against. */
  egress: Record<Family, EgressPart>;
  decisions: Record<Family, Contribution<PortSet>[][]>;
  /** Per pair, the decisions that differ from the egress part alone (see overridesOf). */
  differences: Record<Family, PairOverrides[]>;
}

/**
 * The decisions from `src` to every local peer. With the VF's previous row, a pair whose inputs
 * are the same is taken from it, and a recomputed pair that decides the same keeps the old list
 * (the same object, so that the overrides derived from it are reused too).
 */
export function decisionRow(
  memo: CompileMemo,
  src: ManagedInterface,
  peers: readonly ManagedInterface[],
  egress: Record<Family, EgressPart>,
  prev?: DecisionRow,
  since?: PeersSince,
): DecisionRow {
  // The last row's peers, or those with some replaced: then only those pairs can have changed
  // while the source is the same.
  const replaced =
    prev?.peers === peers ? [] : since && since.peers === prev?.peers ? since.changed : undefined;
  if (prev && replaced) return samePeersRow(memo, src, peers, egress, prev, replaced);
  if (prev && prev.peers.length === peers.length && peers.every((dst, i) => dst.key === prev.peers[i]?.key)) {
    return samePeersRow(memo, src, peers, egress, prev);
  }
  const decisions: Record<Family, Contribution<PortSet>[][]> = { 4: [], 6: [] };
  let prevIndex: Map<string, number> | undefined;
  const indexOf = (dst: ManagedInterface, i: number): number => {
    if (!prev) return -1;
    if (prev.peers[i]?.key === dst.key) return i;
    prevIndex ??= new Map(prev.peers.map((p, j) => [p.key, j]));
    return prevIndex.get(dst.key) ?? -1;
  };
  const differences: DecisionRow['differences'] = { 4: [], 6: [] };
  peers.forEach((dst, i) => {
    const j = indexOf(dst, i);
    // The last row, when it holds this peer (at j).
    const was = j >= 0 ? prev : undefined;
    const peer = was?.peers[j];
    const same = was !== undefined && peer !== undefined && samePairInputs(memo, src, dst, was.src, peer);
    for (const family of FAMILIES) {
      const old = was?.decisions[family][j];
      let list: Contribution<PortSet>[];
      if (same && old) {
        list = old;
      } else {
        const built = pairDecisions(memo, src, dst, family, egress[family]);
        list = old && sameDecisions(old, built) ? old : built;
      }
      decisions[family].push(list);
      // What differs from the egress part: kept with a kept list and part.
      const kept =
        was && list === old && egress[family] === was.egress[family] ? was.differences[family][j] : undefined;
      differences[family].push(kept ?? pairOverrides(list, egress[family]));
    }
  });
  // Lists equal element by element keep the old array, so that what depends on them is reused.
  for (const family of FAMILIES) {
    const before = prev?.decisions[family];
    if (before && sameInputs(before, decisions[family])) decisions[family] = before;
    const last = prev?.differences[family];
    if (last && sameDifferences(last, differences[family])) differences[family] = last;
  }
  return { src, peers, egress, decisions, differences };
}

function sameDifferences(a: readonly PairOverrides[], b: readonly PairOverrides[]): boolean {
  return a.length === b.length && a.every((x, i) => x.signature === b[i]!.signature);
}

/**
 * decisionRow when the peers are those of the last row, in the same order (the usual case): only
 * the pairs whose inputs changed are decided again, and the lists are copied only when one of
 * them decides differently.
 */
function samePeersRow(
  memo: CompileMemo,
  src: ManagedInterface,
  peers: readonly ManagedInterface[],
  egress: Record<Family, EgressPart>,
  prev: DecisionRow,
  replaced?: readonly number[],
): DecisionRow {
  const decisions = { 4: prev.decisions[4], 6: prev.decisions[6] };
  const differences = { 4: prev.differences[4], 6: prev.differences[6] };
  const sameSrc = src === prev.src;
  const newPart = { 4: egress[4] !== prev.egress[4], 6: egress[6] !== prev.egress[6] };
  // Without named ports a part is a function of the rules, so a new part decides differently only
  // where the rules changed, and a pair there is not skipped below (samePairInputs reads the
  // rules at the peer's addresses): the skipped pairs differ from the new part as from the old.
  const byRules =
    (newPart[4] || newPart[6]) &&
    !anyNamedPorts(memo, src.egress.rules) &&
    !anyNamedPorts(memo, prev.src.egress.rules);
  // With the same source, only replaced peers can decide differently.
  const few = sameSrc && replaced !== undefined;
  const count = few ? replaced.length : peers.length;
  for (let k = 0; k < count; k++) {
    const i = few ? replaced[k]! : k;
    const dst = peers[i]!;
    const r = prev.peers[i]!;
    if ((sameSrc && dst === r) || samePairInputs(memo, src, dst, prev.src, r)) continue;
    for (const family of FAMILIES) {
      const old = prev.decisions[family][i]!;
      const built = pairDecisions(memo, src, dst, family, egress[family]);
      const same = sameDecisions(old, built);
      if (!same) {
        if (decisions[family] === prev.decisions[family]) decisions[family] = [...prev.decisions[family]];
        decisions[family][i] = built;
      }
      if (newPart[family] ? !byRules : same) continue; // unchanged, or every pair is compared below
      const d = pairOverrides(decisions[family][i]!, egress[family]);
      if (d.signature === differences[family][i]!.signature) continue;
      if (differences[family] === prev.differences[family])
        differences[family] = [...prev.differences[family]];
      differences[family][i] = d;
    }
  }
  // A new part with named ports can differ from the old one anywhere.
  for (const family of FAMILIES) {
    if (!newPart[family] || byRules) continue;
    const all = decisions[family].map((list) => pairOverrides(list, egress[family]));
    if (!sameDifferences(prev.differences[family], all)) differences[family] = all;
  }
  return { src, peers, egress, decisions, differences };
}
