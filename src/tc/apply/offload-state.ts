// Where the kernel placed each filter: `tc -s -j filter show` says in_hw (with in_hw_count) when
// the NIC holds it, not_in_hw when only software does. Per device, the count of the agent's
// filters that are not in hardware (for a metric), and one line per filter for the rule dumps.
// Pure: the Reconciler reads the devices and keeps the last state of each (Reconciler.readOffload).

import { liveChains, type DeviceState, type KernelFilter } from './device-state.js';

export interface DeviceOffload {
  device: string;
  /** The agent's live filters on the device (those the entry reaches). */
  filters: number;
  inHw: number;
  /** Filters tc reports not_in_hw (software only), or reports nothing about. */
  notInHw: number;
  /** One line per filter: "chain C pref P handle H: in_hw (count N)" or "...: not_in_hw". */
  lines: string[];
}

export function formatFilterOffload(k: KernelFilter): string {
  const where = `chain ${k.chain} pref ${k.prio}${k.handle !== undefined ? ` handle ${k.handle}` : ''}`;
  const o = k.offload;
  if (!o) return `${where}: unknown`;
  const flags = [o.skipSw ? ' skip_sw' : '', o.skipHw ? ' skip_hw' : ''].join('');
  if (o.inHw)
    return `${where}: in_hw${o.inHwCount !== undefined ? ` in_hw_count ${o.inHwCount}` : ''}${flags}`;
  return `${where}: not_in_hw${flags}`;
}

/**
 * The live filters on one device: those in chains the entry reaches (the entry itself is not kept),
 * by chain, prio and handle. tc lists chains in the order they were created, and the planner
 * creates a device's chains children first: sorted, a dump reads from the root down.
 */
export function ownFilters(state: DeviceState): KernelFilter[] {
  const live = liveChains(state);
  return state.owned
    .filter((k) => live.has(k.chain))
    .sort((a, b) => a.chain - b.chain || a.prio - b.prio || (a.handle ?? 0) - (b.handle ?? 0));
}

export function deviceOffload(state: DeviceState): DeviceOffload {
  const own = ownFilters(state);
  const inHw = own.filter((k) => k.offload?.inHw === true).length;
  return {
    device: state.device,
    filters: own.length,
    inHw,
    notInHw: own.length - inHw,
    lines: own.map(formatFilterOffload),
  };
}
