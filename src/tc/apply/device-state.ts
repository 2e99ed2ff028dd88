// What the kernel holds on one device, split into the agent's filters and everyone else's.

import type { Filter } from '../ir.js';
import { ENTRY_CHAIN, ENTRY_COOKIE, ENTRY_HANDLE, ENTRY_PRIO, isOwnedChain } from '../layout.js';

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
  /** The owned chain the entry filter goes to, when the entry is present and valid. */
  entry?: number;
  /** An entry filter (ours by position and cookie) exists, valid or not: replace it, never add. */
  entryPresent: boolean;
  /** Filters in the agent's chains (OWNED_FIRST..OWNED_LAST), live or left over. */
  owned: KernelFilter[];
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
 * One device's state from its kernel filters, sorted into the entry, owned and foreign ones.
 * `egress` holds the egress hook's filters: never the agent's, but they count as foreign
 * (removing the clsact qdisc would remove them too).
 */
export function deviceStateOf(
  device: string,
  qdisc: DeviceState['qdisc'],
  filters: KernelFilter[],
  egress: KernelFilter[] = [],
): DeviceState {
  const state: DeviceState = { device, qdisc, owned: [], foreign: [], entryPresent: false };
  for (const f of filters) {
    if (isEntry(f)) {
      state.entryPresent = true;
      if (f.gotoChain !== undefined && isOwnedChain(f.gotoChain)) state.entry = f.gotoChain;
      continue;
    }
    if (isOwnedChain(f.chain)) state.owned.push(f);
    else state.foreign.push(f);
  }
  state.foreign.push(...egress);
  return state;
}

/** The owned chains that hold filters, ascending. */
export function ownedChains(state: DeviceState): number[] {
  return [...new Set(state.owned.map((f) => f.chain))].sort((a, b) => a - b);
}

/**
 * The owned chains a packet can reach from the entry (the live rule set): the entry's target and,
 * transitively, the owned targets of the gotos of their filters. Empty without a valid entry.
 */
export function liveChains(state: DeviceState): Set<number> {
  const live = new Set<number>();
  if (state.entry === undefined) return live;
  const targets = new Map<number, number[]>();
  for (const f of state.owned) {
    if (f.gotoChain === undefined || !isOwnedChain(f.gotoChain)) continue;
    targets.set(f.chain, [...(targets.get(f.chain) ?? []), f.gotoChain]);
  }
  const todo = [state.entry];
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (live.has(c)) continue;
    live.add(c);
    todo.push(...(targets.get(c) ?? []));
  }
  return live;
}
