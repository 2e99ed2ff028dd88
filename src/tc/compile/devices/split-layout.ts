// Chain 2 of a VF with many overrides, split per address block (and a large block per
// sub-block), so that a change rewrites one small chain (issue 17; bench/README.md).

import { ChainSet, type PendingAction, type PendingFilter } from '../chains/chain-set.js';
import { carriersOf } from '../chains/encapsulation.js';
import { decide } from '../chains/port-chains.js';
import { FAMILY_BITS } from '../chains/prefix-rules.js';
import { FAMILIES, filter, onCarrier } from '../chains/vocabulary.js';
import { BLOCK_BITS, blockRef, REST_REF, SUB_BLOCK_BITS, subBlockRef } from './address-blocks.js';
import type {
  CidrRun,
  OverrideEntry,
  OverrideSection,
  SplitBlock,
  SplitLayout,
  SplitLeaf,
  VfTail,
} from './vf-types.js';
import { FALLBACK_SLOT, OVERRIDE_SLOT } from '../../layout.js';
import { formatAddress } from '../../../util/ip/index.js';

function forEachCidr(run: CidrRun, visit: (e: OverrideEntry, k: number) => void): void {
  let left = run.cidrs;
  run.entries.forEach((e, i) => {
    for (let k = i === 0 ? run.first : 0; k < e.blocks.length && left > 0; k++, left--) visit(e, k);
  });
}

function sameRun(a: CidrRun, b: CidrRun): boolean {
  return (
    a.first === b.first &&
    a.cidrs === b.cidrs &&
    a.entries.length === b.entries.length &&
    a.entries.every((e, i) => b.entries[i] === e)
  );
}

/**
 * Walks the CIDRs of `run` in address order and groups them by the unit (block or sub-block) they
 * lie in. A CIDR larger than a unit covers whole units, so the CIDRs of one unit come one after
 * the other. (Plain loops: this runs over every override of every rebuilt split VF.)
 */
function groupByUnit(
  run: CidrRun,
  unit: 'blocks' | 'subs',
  large: (e: OverrideEntry, k: number) => void,
  group: (base: bigint, run: CidrRun) => void,
): void {
  let g: (CidrRun & { base: bigint }) | undefined;
  let left = run.cidrs;
  for (let i = 0; i < run.entries.length && left > 0; i++) {
    const e = run.entries[i]!;
    const units = e[unit];
    for (let k = i === 0 ? run.first : 0; k < units.length && left > 0; k++, left--) {
      const base = units[k];
      if (base !== undefined && g !== undefined && g.base === base) {
        if (g.entries[g.entries.length - 1] !== e) g.entries.push(e);
        g.cidrs++;
        continue;
      }
      if (g !== undefined) group(g.base, g);
      g = undefined;
      if (base === undefined) large(e, k);
      else g = { base, entries: [e], first: k, cidrs: 1 };
    }
  }
  if (g !== undefined) group(g.base, g);
}

/**
 * Chain 2 of a VF with its overrides split by address block: the overrides that stay inline and
 * one dispatch per block and frame shape at OVERRIDE_SLOT (disjoint prefixes), then a goto to the
 * rest chain, which holds the egress prefixes and the fallback (content-stable while the egress
 * rules stay). Each block chain holds its overrides and ends with a goto to the rest chain too
 * (never back to chain 2, whose dispatch would match again). Inline stay the CIDRs larger than a
 * block, and a block of a single CIDR (one filter per frame shape, no more than its dispatch).
 * A block chain with more than `subSplit` override filters is itself split the same way, per
 * sub-block (SUB_BLOCK_BITS): then a change rewrites one sub-block's chain and a block chain of at
 * most one filter per sub-block and frame shape, however many pods the block holds.
 * `last` is the layout of the VF's last build (same pod and options): a block or sub-block whose
 * filters are the same objects is taken from it whole.
 */
export function splitLayout(
  pod: string,
  section: OverrideSection,
  last: SplitLayout | undefined,
  subSplit: number,
): SplitLayout {
  const toRest: PendingAction[] = [{ kind: 'gotoRef', ref: REST_REF }];
  const restFallback =
    last?.chain2.at(-1) ?? filter(FALLBACK_SLOT, 'all', {}, toRest, 'any other destination: egress rules');
  const noDecision = () =>
    filter(FALLBACK_SLOT, 'all', {}, toRest, 'no decision for this pod here: egress rules');
  const inline: PendingFilter[] = [];
  const blocks: SplitBlock[] = [];
  let b = 0;
  const before = last?.blocks ?? [];
  for (const family of FAMILIES) {
    const carriers = carriersOf(family);
    const cidrOf = (base: bigint, bits: number) =>
      `${formatAddress(base, family)}/${FAMILY_BITS[family] - bits}`;
    const portsOf = (run: CidrRun) =>
      [...new Set(run.entries.map((e) => `ports/ipv${family}/${e.ports}`))].filter((r) =>
        section.portChains.has(r),
      );
    // Frame shape by frame shape, each in address order.
    const runFilters = (run: CidrRun, out: PendingFilter[]) => {
      for (let ci = 0; ci < carriers.length; ci++) forEachCidr(run, (e, k) => out.push(e.filters[ci]![k]!));
    };
    const dispatchTo = (ref: string, cidr: string) =>
      carriers.map((c) =>
        onCarrier(
          c,
          OVERRIDE_SLOT,
          { dstIp: cidr },
          [{ kind: 'gotoRef', ref }],
          `pods of this node in ${cidr}`,
        ),
      );
    // A block chain split per sub-block: per frame shape its inline CIDRs (larger than a
    // sub-block, or alone in theirs) and the dispatch to its sub-block chains, in address order.
    const subSplitBlock = (base: bigint, run: CidrRun, old: SplitBlock | undefined) => {
      const perCarrier: PendingFilter[][] = carriers.map(() => []);
      const leaves: SplitLeaf[] = [];
      const oldLeaves = old?.leaves ?? [];
      let l = 0;
      groupByUnit(
        run,
        'subs',
        (e, k) => carriers.forEach((_, ci) => perCarrier[ci]!.push(e.filters[ci]![k]!)),
        (sub, r) => {
          if (r.cidrs === 1) {
            forEachCidr(r, (e, k) => carriers.forEach((_, ci) => perCarrier[ci]!.push(e.filters[ci]![k]!)));
            return;
          }
          const ref = subBlockRef(family, base, sub);
          while (l < oldLeaves.length && oldLeaves[l]!.base < sub) l++;
          const was = oldLeaves[l];
          let leaf: SplitLeaf;
          if (was && was.base === sub && sameRun(was, r)) {
            leaf = was;
          } else {
            const filters: PendingFilter[] = [];
            runFilters(r, filters);
            filters.push(noDecision());
            const cidr = cidrOf(sub, SUB_BLOCK_BITS);
            leaf = {
              ...r,
              base: sub,
              ref,
              purpose: `new connections from ${pod} to pods of this node in sub-block ${cidr}`,
              filters,
              portChains: portsOf(r),
            };
          }
          leaves.push(leaf);
          dispatchTo(ref, cidrOf(sub, SUB_BLOCK_BITS)).forEach((f, ci) => perCarrier[ci]!.push(f));
        },
      );
      const filters = perCarrier.flat();
      return { filters, leaves };
    };
    const large: PendingFilter[][] = carriers.map(() => []);
    const entries = section.overrideFilters[family];
    groupByUnit(
      { entries, first: 0, cidrs: Infinity },
      'blocks',
      (e, k) => carriers.forEach((_, ci) => large[ci]!.push(e.filters[ci]![k]!)),
      (base, run) => {
        if (run.cidrs === 1) {
          const e = run.entries[0]!;
          for (let ci = 0; ci < carriers.length; ci++) inline.push(e.filters[ci]![run.first]!);
          return;
        }
        while (
          b < before.length &&
          (before[b]!.family < family || (before[b]!.family === family && before[b]!.base < base))
        )
          b++;
        const was = before[b];
        const old = was && was.family === family && was.base === base ? was : undefined;
        if (old && sameRun(old, run)) {
          blocks.push(old);
          return;
        }
        let filters: PendingFilter[] = [];
        let leaves: SplitLeaf[] = [];
        if (run.cidrs * carriers.length > subSplit) ({ filters, leaves } = subSplitBlock(base, run, old));
        else runFilters(run, filters);
        filters.push(noDecision());
        const cidr = cidrOf(base, BLOCK_BITS);
        const ref = blockRef(family, base);
        blocks.push({
          ...run,
          family,
          base,
          ref,
          purpose: `new connections from ${pod} to pods of this node in ${cidr}`,
          filters,
          leaves,
          portChains: portsOf(run),
          dispatch: dispatchTo(ref, cidr),
        });
      },
    );
    for (const list of large) for (const f of list) inline.push(f);
  }
  const chain2 = inline;
  for (const block of blocks) for (const f of block.dispatch) chain2.push(f);
  chain2.push(restFallback);
  return {
    chain2,
    blocks,
    restPurpose: `new connections from ${pod} to any other destination: its egress rules`,
  };
}

/** The chains of a split chain 2 into `set`, its filters into `out` (the fixed chain 2). */
export function buildSplitNew(
  set: ChainSet,
  out: PendingFilter[],
  layout: SplitLayout,
  section: OverrideSection,
  tail: VfTail,
): void {
  set.namedChain(
    REST_REF,
    () => layout.restPurpose,
    () => {
      const filters: PendingFilter[] = [];
      if (tail.run) set.replay(tail.run, filters);
      for (const f of tail.fallback) filters.push(f);
      return filters;
    },
  );
  // Named here so that a block or sub-block chain lists the chains it jumps to.
  const portChains = (refs: string[]) => {
    for (const r of refs) {
      const pc = section.portChains.get(r)!;
      decide(set, pc.family, pc.ports);
    }
  };
  for (const b of layout.blocks) {
    set.namedChain(
      b.ref,
      () => b.purpose,
      () => {
        for (const l of b.leaves) {
          set.namedChain(
            l.ref,
            () => l.purpose,
            () => {
              portChains(l.portChains);
              return l.filters;
            },
          );
        }
        portChains(b.portChains);
        return b.filters;
      },
    );
  }
  for (const f of layout.chain2) out.push(f);
}
