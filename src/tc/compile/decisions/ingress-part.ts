// A pod interface's ingress rules as a source chain (on the uplink): who may open connections to
// it, by source address.

import { type AddressMapState, emitPortMap } from '../chains/address-map.js';
import { type ChainFragment, ChainSet, type PendingFilter } from '../chains/chain-set.js';
import { describePorts, DROP, filter } from '../chains/vocabulary.js';
import { portSetIsEmpty } from '../../../policy/ports.js';
import type { PortSet } from '../../../policy/types.js';
import { FALLBACK_SLOT } from '../../layout.js';
import type { Family, Piece } from '../../../util/ip/index.js';

/** A source chain (with its port chains) as a fragment, and its content-named ref. */
export interface IngressPart {
  ref: string;
  fragment: ChainFragment;
  /** The address map, for building the pod's next source chain. */
  map?: AddressMapState;
}

/** The source chain of a pod from its allowed sources, named `ref` (its content). */
export function buildIngressChain(
  family: Family,
  pieces: Piece<PortSet>[],
  ref: string,
  previous?: AddressMapState,
): IngressPart {
  const set = new ChainSet();
  let map: AddressMapState | undefined;
  const fragment = set.capture(() => {
    set.namedChain(
      ref,
      () => `ingress sources (IPv${family})`,
      () => {
        const out: PendingFilter[] = [];
        map = emitPortMap(
          set,
          out,
          family,
          'srcIp',
          pieces,
          (ps) => `sources allowed ${portSetIsEmpty(ps) ? 'nothing' : describePorts(ps)}`,
          previous,
        );
        out.push(
          filter(FALLBACK_SLOT, 'all', {}, DROP, 'ingress is isolated and no rule allows this source'),
        );
        return out;
      },
    );
  });
  return { ref, fragment, map };
}
