// The words every chain is written in: accept (with or without conntrack), drop, a filter at a
// slot of the layout, a filter on one frame shape (carrier), and how port sets read in notes.

import { type PendingAction, pendingFilter, type PendingFilter } from './chain-set.js';
import { IP_CARRIERS, type IpCarrier } from './encapsulation.js';
import { portSetIsEmpty } from '../../../policy/ports.js';
import type { PortSet } from '../../../policy/types.js';
import type { FilterProtocol, FlowerMatch, IpProto } from '../../ir.js';
import { prioFor } from '../../layout.js';
import type { Family } from '../../../util/ip/index.js';

export const FAMILIES: Family[] = [4, 6];
export const PROTO_NAME: Record<'TCP' | 'UDP' | 'SCTP', IpProto> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

const ACCEPT: PendingAction[] = [{ kind: 'ct', commit: true }, { kind: 'pass' }];
/** Accept for frame shapes conntrack cannot follow (QinQ): pass without commit. */
const ACCEPT_STATELESS: PendingAction[] = [{ kind: 'pass' }];

export function accept(c: IpCarrier): PendingAction[] {
  return c.stateless ? ACCEPT_STATELESS : ACCEPT;
}

/** What a decision does to a packet, per frame shape (with conntrack or not). */
export type CarrierActions = (c: IpCarrier) => PendingAction[];
export const DROP: PendingAction[] = [{ kind: 'drop' }];

export function filter(
  slot: number,
  protocol: FilterProtocol,
  match: FlowerMatch,
  actions: PendingAction[],
  note: string,
): PendingFilter {
  return pendingFilter(prioFor(slot, protocol), protocol, match, actions, note);
}

export function onCarrier(
  c: IpCarrier,
  slot: number,
  match: FlowerMatch,
  actions: PendingAction[],
  note: string,
) {
  // Untagged frames match as they are (match objects are never changed, so they can be shared).
  // Object.assign, not a spread: V8 gives every spread copy a map of its own, which makes each
  // later read of the match (render, simulate) a slow megamorphic lookup.
  const keyed = c.keys.vlanEthType === undefined ? match : Object.assign({}, c.keys, match);
  return filter(slot, c.protocol, keyed, actions, `${note} (${c.name})`);
}

export function describePorts(ps: PortSet): string {
  if (ps.all) return 'all traffic';
  const parts: string[] = [];
  for (const p of ['TCP', 'UDP', 'SCTP'] as const) {
    for (const [a, b] of ps[p]) {
      parts.push(a === 0 && b === 65535 ? p : a === b ? `${p}/${a}` : `${p}/${a}-${b}`);
    }
  }
  return parts.join(',');
}

/** Accept everything left in a chain: QinQ frames without conntrack, the rest with a commit. */
export function acceptRest(out: PendingFilter[], slot: number, note: string): void {
  for (const c of IP_CARRIERS) {
    if (c.stateless) out.push(onCarrier(c, slot, {}, ACCEPT_STATELESS, note));
  }
  out.push(filter(slot, 'all', {}, ACCEPT, note));
}

export function describeAllowed(ps: PortSet): string {
  return portSetIsEmpty(ps) ? 'nothing allowed' : `${describePorts(ps)} allowed`;
}
