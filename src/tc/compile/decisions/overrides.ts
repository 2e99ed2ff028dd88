// A VF's decisions for the pods of its own node that differ from what its egress rules alone
// decide (both the source's egress and the destination's ingress apply there).

import { pointPieces } from './point-pieces.js';
import type { EgressPart } from './egress-part.js';
import type { PairOverrides } from './pair-decisions.js';
import type { PortSet } from '../../../policy/types.js';
import type { Contribution, Family, Piece } from '../../../util/ip/index.js';

/** A VF's decisions for the pods of its node that differ from its egress rules, per family. */
export interface Overrides {
  /** Per family, in address order. */
  overrides: Record<Family, Contribution<PortSet>[]>;
  /** The same as pieces, once a build asked for them (see overridePieces). */
  pieces: Partial<Record<Family, Piece<PortSet>[]>>;
  /** What they were derived from (see overridesOf). */
  differences: Record<Family, PairOverrides[]>;
  sharingKey: string;
  decisions: Record<Family, Contribution<PortSet>[][]>;
  egress: Record<Family, EgressPart>;
}

/** A family's overrides as pieces, computed once per Overrides object. */
export function overridePieces(o: Overrides, family: Family): Piece<PortSet>[] {
  return (o.pieces[family] ??= pointPieces(o.overrides[family]));
}
