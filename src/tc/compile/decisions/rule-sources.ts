// The peers a rule list allows, as address pieces, and a content key for them.

import { portSetKey } from '../../../policy/ports.js';
import type { PortSet } from '../../../policy/types.js';
import type { Piece } from '../../../util/ip/index.js';

/** The peers a set of rules allows, as pieces, and their content key. */
export interface RuleSources {
  pieces: Piece<PortSet>[];
  content: string;
}

export function piecesKey(pieces: Piece<PortSet>[]): string {
  return pieces.map((p) => `${p.interval[0]}-${p.interval[1]}:${portSetKey(p.value)}`).join(';');
}
