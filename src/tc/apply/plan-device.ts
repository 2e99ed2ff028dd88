// Plans the writes that move one device from its kernel state to the desired pipeline. Pure.
//
// Make-before-break: the new rule set is written into the spare generation's chains while the
// entry filter still points at the live one; one `filter replace` of the entry switches every
// packet over at once; only then is the old generation deleted. A batch that fails before the
// switch leaves the live generation untouched.

import type { DevicePipeline, Filter } from '../ir.js';
import { generationOfChain, GENERATION_BASE, type Generation } from '../layout.js';
import { renderEntry, renderGenerationLines } from '../render-tc.js';
import type { DeviceState, KernelFilter } from './device-state.js';

export type PlanKind = 'noop' | 'install' | 'update' | 'repair' | 'cleanup';

export interface DevicePlan {
  device: string;
  kind: PlanKind;
  lines: string[];
  /** Generation live after the plan (undefined after cleanup). */
  generation?: Generation;
}

/** Canonical text of a filter's meaning, chain relative to its generation (notes ignored). */
export function canonical(f: Filter, chainRelative: number, ctZone: number): string {
  const match = Object.fromEntries(
    Object.entries(f.match)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  const actions = f.actions.map((a) => {
    if (a.kind === 'goto') return `goto:${a.chain}`;
    if (a.kind === 'ct') return `ct:${a.commit ? 'commit' : 'lookup'}:${ctZone}`;
    return a.kind;
  });
  return JSON.stringify([chainRelative, f.prio, f.protocol, match, actions]);
}

function desiredSet(d: DevicePipeline, ctZone: number): string[] {
  const out: string[] = [];
  for (const c of d.chains) for (const f of c.filters) out.push(canonical(f, c.index, ctZone));
  return out.sort();
}

/** The kernel's filters of one generation in the same canonical form (chains made relative). */
function kernelSet(filters: KernelFilter[], gen: Generation, ctZone: number): string[] | undefined {
  const out: string[] = [];
  for (const k of filters) {
    if (!k.filter) return undefined; // something we cannot read: rewrite rather than trust it
    const rel = (chain: number) => chain - GENERATION_BASE[gen];
    const f: Filter = {
      ...k.filter,
      actions: k.filter.actions.map((a) => (a.kind === 'goto' ? { kind: 'goto', chain: rel(a.chain) } : a)),
    };
    if (
      f.actions.some((a) => a.kind === 'goto' && generationOfChain(a.chain + GENERATION_BASE[gen]) !== gen)
    ) {
      return undefined;
    }
    out.push(canonical(f, rel(k.chain), ctZone));
  }
  return out.sort();
}

function chainsOf(filters: KernelFilter[]): number[] {
  return [...new Set(filters.map((f) => f.chain))].sort((a, b) => a - b);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function planDevice(desired: DevicePipeline, state: DeviceState, ctZone: number): DevicePlan {
  const dev = desired.device;
  const del = (chain: number) => `chain del dev ${dev} ingress chain ${chain}`;
  if (desired.chains.length === 0) {
    const lines: string[] = [];
    if (state.entryPresent) {
      lines.push(`filter del dev ${dev} ingress protocol all pref 1 handle 1 chain 0 flower`);
    }
    for (const g of [0, 1] as const) for (const c of chainsOf(state.generations[g])) lines.push(del(c));
    if (lines.length > 0 && state.foreign.length === 0 && state.qdisc === 'clsact') {
      // Nothing else uses the hook: leave the device as it was before the agent came.
      lines.push(`qdisc del dev ${dev} clsact`);
    }
    return { device: dev, kind: lines.length > 0 ? 'cleanup' : 'noop', lines };
  }
  if (state.entry !== undefined) {
    // Only a live generation can already be right; a fresh install skips the comparison.
    const want = desiredSet(desired, ctZone);
    const live = state.entry;
    const spare = (1 - live) as Generation;
    const have = kernelSet(state.generations[live], live, ctZone);
    if (have && sameList(have, want)) {
      if (state.generations[spare].length === 0)
        return { device: dev, kind: 'noop', lines: [], generation: live };
      // Leftovers of an interrupted update: remove them, the live generation is already right.
      return {
        device: dev,
        kind: 'repair',
        lines: chainsOf(state.generations[spare]).map(del),
        generation: live,
      };
    }
  }
  const next: Generation = state.entry === undefined ? 0 : ((1 - state.entry) as Generation);
  const old = (1 - next) as Generation;
  const lines: string[] = [];
  if (!state.qdisc) lines.push(`qdisc add dev ${dev} clsact`);
  for (const c of chainsOf(state.generations[next])) lines.push(del(c));
  for (const line of renderGenerationLines(desired, next, ctZone)) lines.push(line);
  lines.push(renderEntry(dev, next, state.entryPresent ? 'replace' : 'add', desired.skipSw));
  // The old generation goes only after the switch; without an entry it was never live.
  for (const c of chainsOf(state.generations[old])) lines.push(del(c));
  return { device: dev, kind: state.entry === undefined ? 'install' : 'update', lines, generation: next };
}
