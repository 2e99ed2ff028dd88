// Plans the writes that move one device from its kernel state to the desired pipeline. Pure.
//
// Per-chain make-before-break (numbering in plan-chains.ts): chains whose content the kernel
// already holds keep their numbers; changed chains, and every chain on the path from them up to
// the root, are written under fresh numbers that nothing live reaches; then one `filter replace`
// of the entry filter switches every packet to the new root at once; only then are the chains no
// longer used deleted.
//
// Invariant: before the entry switch nothing reachable from the live entry is written or deleted;
// after it, the device is wholly on the new rules. A batch that fails before the switch leaves the
// live rules untouched.

import type { DevicePipeline } from '../ir.js';
import { numberingFrom } from '../layout.js';
import { renderChainLines, renderEntryLine } from '../render/render-tc.js';
import { ownedChains, type DeviceState } from './device-state.js';
import { assignChains } from './plan-chains.js';

export { canonical } from './plan-chains.js';

export type PlanKind = 'noop' | 'install' | 'update' | 'repair' | 'cleanup';

export interface DevicePlan {
  device: string;
  kind: PlanKind;
  lines: string[];
  /** Absolute chain per relative chain after the plan (index = relative); undefined after cleanup. */
  chains?: number[];
}

export function planDevice(desired: DevicePipeline, state: DeviceState, ctZone: number): DevicePlan {
  const dev = desired.device;
  const del = (chain: number) => `chain del dev ${dev} ingress chain ${chain}`;
  if (desired.chains.length === 0) {
    const lines: string[] = [];
    if (state.entryPresent) {
      lines.push(`filter del dev ${dev} ingress protocol all pref 1 handle 1 chain 0 flower`);
    }
    for (const c of ownedChains(state)) lines.push(del(c));
    if (lines.length > 0 && state.foreign.length === 0 && state.qdisc === 'clsact') {
      // Nothing else uses the hook: leave the device as it was before the agent came.
      lines.push(`qdisc del dev ${dev} clsact`);
    }
    return { device: dev, kind: lines.length > 0 ? 'cleanup' : 'noop', lines };
  }
  const { chains, fresh } = assignChains(desired, state, ctZone);
  const root = chains[0]!;
  const lines: string[] = [];
  if (!state.qdisc) lines.push(`qdisc add dev ${dev} clsact`);
  // New chains, children first: no packet reaches them until the switch.
  for (const line of renderChainLines(desired, numberingFrom(chains), ctZone, fresh)) lines.push(line);
  const switched = state.entry !== root;
  if (switched)
    lines.push(renderEntryLine(dev, root, state.entryPresent ? 'replace' : 'add', desired.skipSw));
  // After the switch: the chains the new rules do not use (the old path, leftovers of an
  // interrupted update). Without an entry, none of them was live.
  const keep = new Set(chains);
  for (const c of ownedChains(state)) if (!keep.has(c)) lines.push(del(c));
  const kind: PlanKind =
    lines.length === 0
      ? 'noop'
      : state.entry === undefined
        ? 'install'
        : fresh.length > 0 || switched
          ? 'update'
          : 'repair';
  return { device: dev, kind, lines, chains };
}
