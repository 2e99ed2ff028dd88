// What the kernel holds on one device, split into the agent's filters and everyone else's.

import type { Filter } from '../ir.js';
import {
  ENTRY_CHAIN,
  ENTRY_COOKIE,
  ENTRY_HANDLE,
  ENTRY_PRIO,
  generationOfChain,
  GENERATION_BASE,
  type Generation,
} from '../layout.js';

export interface KernelFilter {
  chain: number;
  prio: number;
  protocol: string;
  handle?: number;
  /** The filter in IR form (chains absolute), when it is a flower filter the parser understands. */
  filter?: Filter;
  /** Target of a goto action, if any (absolute). */
  gotoChain?: number;
  cookie?: string;
  /** Packets counted by the filter's first action, when tc reports stats. */
  packets?: number;
  /** Where the kernel placed the filter (in_hw, in_hw_count, not_in_hw, skip flags). */
  offload?: FilterOffload;
}

export interface FilterOffload {
  inHw: boolean;
  /** How many hardware devices hold it (shared blocks: several). */
  inHwCount?: number;
  notInHw: boolean;
  skipSw: boolean;
  skipHw: boolean;
}

export interface DeviceState {
  device: string;
  /** Whether an ingress-capable qdisc (clsact or ingress) is attached. */
  qdisc: 'clsact' | 'ingress' | undefined;
  /** Generation the entry filter points at, when the entry is present and valid. */
  entry?: Generation;
  /** An entry filter (ours by position and cookie) exists, valid or not: replace it, never add. */
  entryPresent: boolean;
  /** Filters in the agent's chains, by generation. */
  generations: [KernelFilter[], KernelFilter[]];
  /** Filters outside the agent's ranges (never touched). */
  foreign: KernelFilter[];
}

export function isEntry(f: KernelFilter): boolean {
  return (
    f.chain === ENTRY_CHAIN &&
    f.prio === ENTRY_PRIO &&
    f.protocol === 'all' &&
    (f.handle === undefined || f.handle === ENTRY_HANDLE) &&
    f.cookie === ENTRY_COOKIE
  );
}

/**
 * Sorts one device's filters. `egress` holds the egress hook's filters: never the agent's, but
 * they count as foreign (removing the clsact qdisc would remove them too).
 */
export function classify(
  device: string,
  qdisc: DeviceState['qdisc'],
  filters: KernelFilter[],
  egress: KernelFilter[] = [],
): DeviceState {
  const state: DeviceState = { device, qdisc, generations: [[], []], foreign: [], entryPresent: false };
  for (const f of filters) {
    if (isEntry(f)) {
      state.entryPresent = true;
      const g = f.gotoChain === undefined ? undefined : generationOfChain(f.gotoChain);
      if (g !== undefined && f.gotoChain === GENERATION_BASE[g]) state.entry = g;
      continue;
    }
    const g = generationOfChain(f.chain);
    if (g === undefined) state.foreign.push(f);
    else state.generations[g].push(f);
  }
  state.foreign.push(...egress);
  return state;
}
