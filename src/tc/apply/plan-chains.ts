// Numbers the chains of one device for an update: which desired chains the kernel already holds
// (and keep their numbers) and which must be written under a fresh number. Pure.
//
// A chain is identified by its content with ABSOLUTE goto targets, so a chain whose own filters
// are unchanged but whose child was renumbered is a different chain: it gets a fresh number too,
// and so on up to the root (path copying). Numbers are assigned children first, so that a chain's
// content is known (its children's numbers) when it is looked up.
//
// Safety: a fresh number never holds filters in the kernel and is never the target of a goto
// there, so writing a fresh chain changes nothing a packet can reach from the live entry.

import type { Filter, DevicePipeline } from '../ir.js';
import { FRESH_BASE, isOwnedChain, OWNED_FIRST, OWNED_LAST, RELATIVE_SPAN } from '../layout.js';
import type { DeviceState, KernelFilter } from './device-state.js';

/** The parts of a filter that make its meaning (notes and flags ignored), gotos as they are. */
function filterParts(f: Filter, ctZone: number): unknown[] {
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
  return [f.prio, f.protocol, match, actions];
}

/** Canonical text of a filter's meaning inside chain `chain` (notes ignored). */
export function canonical(f: Filter, chain: number, ctZone: number): string {
  return JSON.stringify([chain, ...filterParts(f, ctZone)]);
}

/** Canonical text of a filter's meaning whatever chain holds it (gotos absolute). */
export function filterKey(f: Filter, ctZone: number): string {
  return JSON.stringify(filterParts(f, ctZone));
}

/** A filter's meaning with its goto targets left out: pairs a desired filter with a kernel one. */
function shapeKey(f: Filter, ctZone: number): string {
  return filterKey(
    { ...f, actions: f.actions.map((a) => (a.kind === 'goto' ? { kind: 'goto', chain: -1 } : a)) },
    ctZone,
  );
}

/**
 * Which kernel chain each desired chain sits at in the live rules, found by walking both from the
 * entry: a desired filter and a kernel filter of the same shape in paired chains pair their goto
 * targets. It only breaks ties between kernel chains of equal content (two desired chains may share
 * a content, and their parents name one copy each): a restart then pairs them as they were written.
 */
function liveHints(d: DevicePipeline, state: DeviceState, ctZone: number): Map<number, number> {
  const hints = new Map<number, number>();
  if (state.entry === undefined) return hints;
  const byChain = new Map<number, KernelFilter[]>();
  for (const k of state.owned) byChain.set(k.chain, [...(byChain.get(k.chain) ?? []), k]);
  const byIndex = new Map(d.chains.map((c) => [c.index, c]));
  hints.set(0, state.entry);
  const queue = [0];
  while (queue.length > 0) {
    const rel = queue.shift()!;
    const kernelTargets = new Map<string, number[]>();
    for (const k of byChain.get(hints.get(rel)!) ?? []) {
      if (!k.filter || k.gotoChain === undefined) continue;
      const key = shapeKey(k.filter, ctZone);
      kernelTargets.set(key, [...(kernelTargets.get(key) ?? []), k.gotoChain]);
    }
    for (const f of byIndex.get(rel)?.filters ?? []) {
      const target = f.actions.find((a) => a.kind === 'goto');
      if (target?.kind !== 'goto' || hints.has(target.chain)) continue;
      const n = kernelTargets.get(shapeKey(f, ctZone))?.shift();
      if (n === undefined) continue;
      hints.set(target.chain, n);
      queue.push(target.chain);
    }
  }
  return hints;
}

/** A chain's identity: the sorted keys of its filters (gotos absolute). */
function chainKey(keys: string[]): string {
  return keys.sort().join('\n');
}

export interface KernelChains {
  /** Reusable owned chains by content; several chains may share one content. */
  byKey: Map<string, number[]>;
  /** Owned chains that hold filters or are the target of a goto: never a fresh number. */
  taken: Set<number>;
}

/**
 * The kernel's owned chains indexed by content. A chain holding a filter the parser could not
 * read is not reusable (its meaning is unknown); an owned chain that only gotos point at (no
 * filters) is the empty chain.
 */
export function indexKernelChains(state: DeviceState, ctZone: number): KernelChains {
  const filters = new Map<number, string[] | undefined>();
  const taken = new Set<number>();
  for (const k of state.owned) {
    taken.add(k.chain);
    const have = filters.has(k.chain) ? filters.get(k.chain) : [];
    if (have && k.filter) {
      have.push(filterKey(k.filter, ctZone));
      filters.set(k.chain, have);
    } else filters.set(k.chain, undefined);
  }
  const targets = state.owned.map((k) => k.gotoChain);
  if (state.entry !== undefined) targets.push(state.entry);
  for (const t of targets) {
    if (t === undefined || !isOwnedChain(t)) continue;
    taken.add(t);
    if (!filters.has(t)) filters.set(t, []);
  }
  const byKey = new Map<string, number[]>();
  for (const [chain, keys] of [...filters].sort(([a], [b]) => a - b)) {
    if (!keys) continue;
    const key = chainKey(keys);
    byKey.set(key, [...(byKey.get(key) ?? []), chain]);
  }
  return { byKey, taken };
}

/** The desired chains, children before parents; throws on a goto to a missing chain or a loop. */
export function childrenFirst(d: DevicePipeline): number[] {
  const byIndex = new Map(d.chains.map((c) => [c.index, c]));
  const state = new Map<number, 'open' | 'done'>();
  const order: number[] = [];
  const visit = (start: number): void => {
    // Iterative depth-first walk: chains can be many, and the call stack is not.
    const stack: { index: number; next: number[] }[] = [];
    const enter = (index: number): void => {
      const c = byIndex.get(index);
      if (!c) throw new Error(`${d.device}: goto to chain +${index}, which the pipeline does not have`);
      state.set(index, 'open');
      const next = c.filters.flatMap((f) => f.actions.flatMap((a) => (a.kind === 'goto' ? [a.chain] : [])));
      stack.push({ index, next: [...new Set(next)].sort((a, b) => b - a) });
    };
    enter(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const child = top.next.pop();
      if (child === undefined) {
        stack.pop();
        state.set(top.index, 'done');
        order.push(top.index);
        continue;
      }
      const s = state.get(child);
      if (s === 'open') throw new Error(`${d.device}: chain +${child} is part of a goto loop`);
      if (s === undefined) enter(child);
    }
  };
  for (const c of d.chains) if (!state.has(c.index)) visit(c.index);
  return order;
}

export interface ChainAssignment {
  /** Absolute chain per relative chain (index = relative). */
  chains: number[];
  /** Relative chains written under a fresh number, children before parents. */
  fresh: number[];
}

/**
 * Numbers every desired chain: the kernel's chain of equal content when there is one (each kernel
 * chain used once), otherwise a fresh number: 10000 + relative, then 20000 + relative, then the
 * lowest free number of the owned range. Throws when the range is full.
 */
export function assignChains(d: DevicePipeline, state: DeviceState, ctZone: number): ChainAssignment {
  if (!d.chains.some((c) => c.index === 0)) throw new Error(`${d.device}: the pipeline has no root chain`);
  for (const c of d.chains) {
    if (!Number.isInteger(c.index) || c.index < 0 || c.index >= RELATIVE_SPAN)
      throw new Error(`${d.device}: relative chain ${c.index} outside 0..${RELATIVE_SPAN - 1}`);
  }
  const kernel = indexKernelChains(state, ctZone);
  const hints = liveHints(d, state, ctZone);
  const byIndex = new Map(d.chains.map((c) => [c.index, c]));
  const chains: number[] = [];
  const fresh: number[] = [];
  const used = new Set<number>();
  let lowestFree = OWNED_FIRST;
  const free = (n: number) => !kernel.taken.has(n) && !used.has(n);
  const keysOf = (rel: number) =>
    byIndex.get(rel)!.filters.map((f) =>
      filterKey(
        {
          ...f,
          actions: f.actions.map((a) => (a.kind === 'goto' ? { kind: 'goto', chain: chains[a.chain]! } : a)),
        },
        ctZone,
      ),
    );
  // Without reusable kernel chains (a fresh install) nothing can match: no content keys to make.
  const reusable = kernel.byKey.size > 0;
  for (const rel of childrenFirst(d)) {
    const candidates = reusable
      ? (kernel.byKey.get(chainKey(keysOf(rel))) ?? []).filter((n) => !used.has(n))
      : [];
    // Among equal chains: the one the live rules use at this place, else the one this relative
    // chain would have been written to, so that after a restart the same chains pair up again.
    const preferred = FRESH_BASE.map((b) => b + rel);
    const hint = hints.get(rel);
    let n =
      candidates.find((c) => c === hint) ?? candidates.find((c) => preferred.includes(c)) ?? candidates[0];
    if (n === undefined) {
      n = preferred.find(free);
      while (n === undefined && lowestFree <= OWNED_LAST) {
        if (free(lowestFree)) n = lowestFree;
        lowestFree++;
      }
      if (n === undefined)
        throw new Error(`${d.device}: no free chain number left in ${OWNED_FIRST}..${OWNED_LAST}`);
      fresh.push(rel);
    }
    used.add(n);
    chains[rel] = n;
  }
  return { chains, fresh };
}
