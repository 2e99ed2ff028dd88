// The rest of chain 2 of a VF: its egress rules for every destination the overrides do not
// decide, then the fallback.

import { type ChainFragment, mergeByPrio, type NamedChain, type PendingFilter } from '../chains/chain-set.js';
import { acceptRest, DROP, FAMILIES, filter } from '../chains/vocabulary.js';
import type { EgressPart } from '../decisions/egress-part.js';
import type { VfParts, PreparedVf, VfTail } from './vf-types.js';
import { sameInputs } from '../reuse/memo.js';
import { FALLBACK_SLOT } from '../../layout.js';

/** The rest of chain 2 of a VF, or the last build's while its egress parts and isolation stay. */
export function vfTail(prepared: PreparedVf, last: VfParts | undefined): VfTail {
  const src = prepared.input.iface;
  const egress = FAMILIES.map((f) => prepared.egress[f]);
  const isolated = src.egress.isolated;
  const tail = last?.tail;
  if (tail && tail.isolated === isolated && sameInputs(tail.egress, egress)) return tail;
  const parts = egress.filter((p) => p.fragment);
  const merge = () => egressRun(parts);
  const shared = prepared.parts.egressRun;
  const run = parts.length === 0 ? undefined : shared ? shared(parts, merge) : merge();
  const fallback: PendingFilter[] = [];
  if (isolated) {
    fallback.push(
      filter(FALLBACK_SLOT, 'all', {}, DROP, `egress of ${src.pod} is isolated and no rule allows this`),
    );
  } else {
    acceptRest(fallback, FALLBACK_SLOT, `egress of ${src.pod} is not isolated`);
  }
  return { egress, isolated, run, fallback };
}

/** The egress parts' filters (each sorted, see buildEgressPart) merged as a stable sort would. */
function egressRun(parts: EgressPart[]): ChainFragment {
  let filters: readonly PendingFilter[] = [];
  const chains = new Map<string, NamedChain>();
  for (const part of parts) {
    filters = mergeByPrio(filters, part.fragment!.filters);
    for (const [ref, c] of part.fragment!.chains) chains.set(ref, c);
  }
  return { filters, chains };
}
