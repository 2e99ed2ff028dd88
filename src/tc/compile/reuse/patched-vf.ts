// A VF's chains patched from its last build when only chain 2 (or its split chains) changed.

import {
  type ChainFragment,
  mergeRuns,
  NEW_CHAIN,
  type PendingFilter,
  type ResolvedFilters,
  sortFilters,
} from '../chains/chain-set.js';
import { REST_REF } from '../devices/address-blocks.js';
import type { OverrideSection, SplitLayout, VfParts, VfTail } from '../devices/vf-types.js';
import type { Chain } from '../../ir.js';

/**
 * A VF's chains when the named chains stay (the same port chains, and when split the same block
 * chains, so the same numbers): the last build's chains with chain 2 written again from its parts
 * (what ChainSet.finish would give, without building every chain again), and when split its block
 * chains, and its rest chain if the egress parts changed. Undefined when the chains or their
 * numbers would differ.
 */
export function patchedVf(
  last: VfParts,
  classify: ChainFragment,
  tail: VfTail,
  section: OverrideSection,
  purpose: string,
  split: SplitLayout | undefined,
  resolved: ResolvedFilters,
): { chains: Chain[]; numbers: Map<string, number> } | undefined {
  if (last.classify !== classify) return undefined;
  const numbers = last.numbers;
  const named = new Set(tail.run?.chains.keys());
  for (const ref of section.portChains.keys()) named.add(ref);
  if (split) {
    named.add(REST_REF);
    for (const b of split.blocks) {
      named.add(b.ref);
      for (const l of b.leaves) named.add(l.ref);
    }
  }
  if (named.size !== numbers.size) return undefined;
  for (const ref of named) if (!numbers.has(ref)) return undefined;
  const chainOf = (ref: string) => numbers.get(ref)!;
  const resolve = (filters: readonly PendingFilter[]) =>
    sortFilters(filters.map((f) => resolved.resolve(f, chainOf)));
  const run = tail.run ? resolved.sortedResolved(tail.run, tail.run.chains.keys(), chainOf) : [];
  if (!split) {
    const filters = mergeRuns([resolve(section.filters), run, resolve(tail.fallback)]);
    return {
      chains: last.chains.map((c) => (c.index === NEW_CHAIN ? { index: NEW_CHAIN, purpose, filters } : c)),
      numbers,
    };
  }
  const written = new Map<number, Chain>();
  written.set(NEW_CHAIN, { index: NEW_CHAIN, purpose, filters: resolve(split.chain2) });
  // A block or sub-block taken whole from the last layout keeps its chain (same filters, same numbers).
  const kept = new Set(last.split?.blocks);
  const keptLeaves = new Set(last.split?.blocks.flatMap((b) => b.leaves));
  for (const b of split.blocks) {
    if (kept.has(b)) continue;
    const index = chainOf(b.ref);
    written.set(index, { index, purpose: b.purpose, filters: resolve(b.filters) });
    for (const l of b.leaves) {
      if (keptLeaves.has(l)) continue;
      const at = chainOf(l.ref);
      written.set(at, { index: at, purpose: l.purpose, filters: resolve(l.filters) });
    }
  }
  if (last.tail !== tail) {
    const index = chainOf(REST_REF);
    written.set(index, {
      index,
      purpose: split.restPurpose,
      filters: mergeRuns([run, resolve(tail.fallback)]),
    });
  }
  return { chains: last.chains.map((c) => written.get(c.index) ?? c), numbers };
}
