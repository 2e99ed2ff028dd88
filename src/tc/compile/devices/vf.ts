// Compiles the pipeline of one representor. See docs/tc-rule-pipeline.md for the picture:
//
//   chain 0 "classify"  untouched traffic passes (ARP, neighbour discovery, non-IP); IP goes
//                       through conntrack, then to chain 1
//   chain 1 "state"     established and related packets pass; new connections go to chain 2;
//                       anything else (invalid) is dropped
//   chain 2 "new"       the policy decision for a new connection, by address; it either accepts
//                       (commit to conntrack, pass), drops, or goes to a content-named chain. A
//                       VF with many overrides gets it split: a dispatch per address block to
//                       block chains, which end in a rest chain (see splitLayout)
//   chains 3..          port chains ("which ports are allowed") and, on uplinks, per-destination
//                       source chains ("who may connect to this pod"); block and rest chains

import { ChainSet, CLASSIFY_CHAIN, NEW_CHAIN } from '../chains/chain-set.js';
import { buildStateChain, CLASSIFY_PURPOSE, classifyChainFilters } from '../chains/fixed-chains.js';
import { decide } from '../chains/port-chains.js';
import { sharingAddresses } from '../decisions/interface-addresses.js';
import { overrideSection } from './override-section.js';
import { buildSplitNew, splitLayout } from './split-layout.js';
import { vfTail } from './vf-tail.js';
import type { VfDeviceInput, PreparedVf } from './vf-types.js';
import {
  type CompileOptions,
  DEFAULT_OVERRIDE_BLOCK_SPLIT,
  DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT,
} from '../options.js';
import type { CompileCache } from '../reuse/compile-cache.js';
import { decisionRow } from '../reuse/decision-rows.js';
import { egressPart } from '../reuse/egress-parts.js';
import { overridesOf } from '../reuse/overrides-reuse.js';
import { patchedVf } from '../reuse/patched-vf.js';
import type { Chain } from '../../ir.js';

/**
 * What a VF's chains are built from: its egress parts, its decisions to the pods of its node and
 * the overrides among them, through the cache when there is one (reuse/); `deps` decide whether
 * the last device is reused as a whole.
 */
export function prepareVf(input: VfDeviceInput, cache?: CompileCache): PreparedVf {
  const src = input.iface;
  const egress = { 4: egressPart(input, 4, cache), 6: egressPart(input, 6, cache) };
  const row = decisionRow(
    input.memo,
    src,
    input.localPeers,
    egress,
    cache?.decisionRows.get(src.key),
    input.peersSince,
  );
  cache?.decisionRows.set(src.key, row);
  // Which decisions override the egress rules: the same object as last time while every pair
  // differs from the egress rules as it did (then the VF's chains are the same).
  const sharing = input.sharing ?? sharingAddresses(input.memo, input.localPeers);
  const overrides = overridesOf(row, input.localPeers, sharing, cache?.overrides.get(src.key));
  cache?.overrides.set(src.key, overrides);
  return {
    input,
    egress,
    overrides,
    deps: [src.key, src.pod, src.egress.isolated, egress[4], egress[6], overrides],
    parts: {
      previous: cache?.vfParts.get(src.key),
      save: cache && ((parts) => cache.vfParts.set(src.key, parts)),
      egressRun:
        cache && ((parts, merge) => cache.egressRuns.get(parts.map(cache.ids.of).join('/'), parts, merge)),
    },
  };
}

/** The chains of a VF: classify, state, chain 2 (overrides, egress rules, fallback) and their chains. */
export function buildVf(prepared: PreparedVf, opts: CompileOptions): Chain[] {
  // The VF's last build lends its parts while its pod and the options are the same (notes name
  // the pod).
  const pod = prepared.input.iface.pod;
  const prev = prepared.parts.previous;
  const last = prev?.pod === pod && prev.opts === opts ? prev : undefined;
  const classify = last?.classify ?? {
    filters: classifyChainFilters(opts, () => [{ match: {}, note: `IP from ${pod} goes through conntrack` }]),
    chains: new Map(),
  };
  const section = overrideSection(prepared, last);
  const tail = vfTail(prepared, last);
  const newPurpose = `new connections from ${pod} (${prepared.input.iface.network})`;
  const split =
    section.filters.length > (opts.overrideBlockSplit ?? DEFAULT_OVERRIDE_BLOCK_SPLIT)
      ? splitLayout(pod, section, last?.split, opts.overrideSubBlockSplit ?? DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT)
      : undefined;
  const resolved = prepared.input.memo.resolvedFilters;
  let built = last && patchedVf(last, classify, tail, section, newPurpose, split, resolved);
  if (!built) {
    const set = new ChainSet(resolved);
    set.replay(classify, set.fixedChain(CLASSIFY_CHAIN, CLASSIFY_PURPOSE));
    buildStateChain(set);
    const out = set.fixedChain(NEW_CHAIN, newPurpose);
    for (const { family, ports } of section.portChains.values()) decide(set, family, ports);
    if (split) {
      buildSplitNew(set, out, split, section, tail);
    } else {
      for (const f of section.filters) out.push(f);
      if (tail.run) set.replay(tail.run, out);
      for (const f of tail.fallback) out.push(f);
    }
    built = { chains: set.finish(), numbers: set.numbers };
  }
  prepared.parts.save?.({
    pod,
    opts,
    classify,
    overrideFilters: section.overrideFilters,
    tail,
    split,
    ...built,
  });
  return built.chains;
}
