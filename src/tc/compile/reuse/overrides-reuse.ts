// A VF's overrides from its decision row, reusing the last object (or its entries) while the
// pairs differ from the egress rules as they did.

import { FAMILIES } from '../chains/vocabulary.js';
import type { Overrides } from '../decisions/overrides.js';
import { pointAddress, sortPoints, upperBound } from '../decisions/point-pieces.js';
import { portSetIntersect } from '../decisions/rule-ports.js';
import type { DecisionRow } from './decision-rows.js';
import { portSetKey } from '../../../policy/ports.js';
import type { ManagedInterface, PortSet } from '../../../policy/types.js';
import type { Contribution, Family } from '../../../util/ip/index.js';

/**
 * The overrides of a VF's row: the previous object while no pair differs otherwise from the
 * egress rules (and no two peers share an address, where the decisions themselves are read).
 */
export function overridesOf(
  row: DecisionRow,
  peers: readonly ManagedInterface[],
  sharing: ReadonlySet<ManagedInterface>,
  prev: Overrides | undefined,
): Overrides {
  const sharingKey = sharing.size === 0 ? '' : [...sharing].map((iface) => iface.key).join(',');
  if (
    prev &&
    prev.sharingKey === sharingKey &&
    FAMILIES.every(
      (f) =>
        prev.differences[f] === row.differences[f] &&
        (sharing.size === 0 || (prev.decisions[f] === row.decisions[f] && prev.egress[f] === row.egress[f])),
    )
  ) {
    return prev;
  }
  const overrides: Record<Family, Contribution<PortSet>[]> = { 4: [], 6: [] };
  for (const family of FAMILIES) {
    const egress = row.egress[family];
    // Without shared addresses, the last overrides with the entries of the pairs that changed
    // taken out and put in (kept in address order, so that nothing is sorted again).
    const last = sharing.size === 0 && prev?.sharingKey === '' ? prev : undefined;
    const before = last?.differences[family];
    const now = row.differences[family];
    if (last && before === now) {
      overrides[family] = last.overrides[family];
      continue;
    }
    if (last && before && before.length === now.length) {
      const gone = new Set<Contribution<PortSet>>();
      const come: Contribution<PortSet>[] = [];
      for (let i = 0; i < now.length; i++) {
        if (now[i] === before[i]) continue;
        for (const d of before[i]!.entries) gone.add(d);
        for (const d of now[i]!.entries) come.push(d);
      }
      const list = last.overrides[family].filter((d) => !gone.has(d));
      for (const d of come) list.splice(upperBound(list, pointAddress(d)), 0, d);
      overrides[family] = list;
      continue;
    }
    // Two pods of the node with one address (the model warns; the address belongs to one of
    // them) get what both allow: never more than the pod that owns it.
    const byAddress = new Map<bigint, PortSet>();
    row.decisions[family].forEach((list, i) => {
      if (!sharing.has(peers[i]!)) {
        for (const d of row.differences[family][i]!.entries) overrides[family].push(d);
        return;
      }
      for (const d of list) {
        const v = pointAddress(d);
        const prev = byAddress.get(v);
        byAddress.set(v, prev === undefined ? d.value : portSetIntersect(prev, d.value));
      }
    });
    for (const [v, value] of byAddress) {
      if (portSetKey(value) === portSetKey(egress.valueAt(v))) continue;
      overrides[family].push({ intervals: [[v, v]], value });
    }
    overrides[family] = sortPoints(overrides[family]);
  }
  return {
    overrides,
    pieces: {},
    differences: row.differences,
    sharingKey,
    decisions: row.decisions,
    egress: row.egress,
  };
}
