// Builds the chains of one device. Chains 0-2 have fixed roles; every other chain is named by its
// content, so equal content is shared and numbering depends only on what the chains hold.

import type { Action, Chain, Filter } from '../../ir.js';

export const CLASSIFY_CHAIN = 0;
export const STATE_CHAIN = 1;
export const NEW_CHAIN = 2;
const FIXED = 3;

/** An action, or a goto to a content-named chain (resolved to a number when the device is finished). */
export type PendingAction = Action | { kind: 'gotoRef'; ref: string };

export interface PendingFilter extends Omit<Filter, 'actions'> {
  readonly actions: readonly PendingAction[];
  /** The chain its actions jump to by reference, if any (see pendingFilter). */
  readonly ref?: string;
  /**
   * The one piece of scratch state left on a compile object: ResolvedFilters' last two copies of
   * this filter with its chain reference resolved, by the number of that chain (only on filters
   * with a `ref`; never rendered). Kept here rather than in a map because a map lookup per filter
   * cost 7-13 % of an incremental compile (bench/compare-builds.js, issue 18 step 4).
   */
  resolvedChain?: number;
  resolvedFilter?: Filter;
  olderChain?: number;
  olderFilter?: Filter;
}

/** A content-named chain as built (see ChainSet.namedChain); never changed once made. */
export interface NamedChain {
  readonly purpose: string;
  readonly filters: readonly PendingFilter[];
  /** Named chains its filters jump to, directly or further on. */
  readonly deps: ReadonlyMap<string, NamedChain>;
}

/**
 * Filters and named chains built once, reusable in another compile (see ChainSet.capture); never
 * changed once made.
 */
export interface ChainFragment {
  readonly filters: readonly PendingFilter[];
  readonly chains: ReadonlyMap<string, NamedChain>;
}

/** Filters that finish() sorts and resolves as a whole: a named chain or a replayed fragment. */
type FilterRun = NamedChain | ChainFragment;

/**
 * A run's filters sorted by prio (`order`, which no chain number changes) and resolved with the
 * chain numbers of its last few numberings (a fragment shared by devices may see several).
 */
interface SortedRun {
  order: readonly PendingFilter[];
  resolved: { numbers: string; filters: readonly Filter[] }[];
}

const NUMBERINGS_KEPT = 4;

/**
 * What finish() made of runs, kept for later finishes: a run's sorted order, and its resolved
 * filters per numbering. Fragments and named chains are never changed, so this lives beside them,
 * with whoever owns the compiles that replay them (the CompileMemo); a ChainSet without one keeps
 * its own. Every entry is a pure function of its key and the chain numbers: only the time changes.
 * (A pending filter's own resolved copies stay on it: see PendingFilter.resolvedChain.)
 */
export class ResolvedFilters {
  private readonly runs = new WeakMap<FilterRun, SortedRun>();

  /**
   * A pending filter as it goes into the IR, its chain reference numbered by `chainOf`. Only
   * filters with a reference need a copy; the others are shared as they are. The last two copies
   * are kept on the pending filter, by the number of their chain.
   */
  resolve(f: PendingFilter, chainOf: (ref: string) => number): Filter {
    const ref = f.ref;
    if (ref === undefined) return f as Filter;
    const chain = chainOf(ref);
    if (f.resolvedChain === chain) return f.resolvedFilter!;
    if (f.olderChain === chain) return f.olderFilter!;
    const filter = resolvedCopy(f, chainOf);
    f.olderChain = f.resolvedChain;
    f.olderFilter = f.resolvedFilter;
    f.resolvedChain = chain;
    f.resolvedFilter = filter;
    return filter;
  }

  /**
   * A run's filters sorted by prio (once per run) and resolved with the numbers `chainOf` gives
   * the chains in `refs` (kept per numbering, so resolved again only when a chain it jumps to is
   * renumbered; the order stays: it depends on prios alone).
   */
  sortedResolved(
    run: FilterRun,
    refs: Iterable<string>,
    chainOf: (ref: string) => number,
  ): readonly Filter[] {
    let numbers = '';
    for (const r of refs) numbers += `${chainOf(r)},`;
    let sorted = this.runs.get(run);
    if (sorted === undefined) {
      sorted = { order: sortFilters(run.filters), resolved: [] };
      this.runs.set(run, sorted);
    }
    const kept = sorted.resolved;
    let hit = kept.find((k) => k.numbers === numbers);
    if (!hit) {
      hit = { numbers, filters: sorted.order.map((f) => this.resolve(f, chainOf)) };
      kept.unshift(hit);
      if (kept.length > NUMBERINGS_KEPT) kept.pop();
    }
    return hit.filters;
  }
}

/** A new filter: `f` with its chain references numbered by `chainOf`. */
function resolvedCopy(f: PendingFilter, chainOf: (ref: string) => number): Filter {
  return {
    prio: f.prio,
    protocol: f.protocol,
    match: f.match,
    actions: f.actions.map((a) => (a.kind === 'gotoRef' ? { kind: 'goto', chain: chainOf(a.ref) } : a)),
    note: f.note,
  };
}

/** A fixed chain: its own filters, and the fragments replayed into it (with where they came in). */
interface FixedChain {
  purpose: string;
  filters: PendingFilter[];
  replayed: { at: number; fragment: ChainFragment }[];
}

/**
 * A filter whose actions may jump to a named chain. The reference is found once here, not on
 * every finish(); only such filters carry the `ref` field (the others go into the IR as they are).
 */
export function pendingFilter(
  prio: number,
  protocol: Filter['protocol'],
  match: Filter['match'],
  actions: readonly PendingAction[],
  note: string,
): PendingFilter {
  const ref = gotoRefOf(actions);
  // All fields up front: one object shape per kind, so that finish() reads them quickly.
  return ref === undefined
    ? { prio, protocol, match, actions, note }
    : {
        prio,
        protocol,
        match,
        actions,
        note,
        ref,
        resolvedChain: -1,
        resolvedFilter: undefined,
        olderChain: -1,
        olderFilter: undefined,
      };
}

export class ChainSet {
  /**
   * `resolved`: the store of what finish() made that the owner of the compile keeps (see
   * ResolvedFilters); without one, finish() uses one of its own (a set that only captures never
   * finishes).
   */
  constructor(private readonly resolved?: ResolvedFilters) {}

  private fixed = new Map<number, FixedChain>();
  private fixedByArray = new Map<PendingFilter[], FixedChain>();
  private named = new Map<string, NamedChain>();

  fixedChain(index: number, purpose: string): PendingFilter[] {
    let c = this.fixed.get(index);
    if (!c) {
      c = { purpose, filters: [], replayed: [] };
      this.fixed.set(index, c);
      this.fixedByArray.set(c.filters, c);
    }
    return c.filters;
  }

  private capturing: Map<string, NamedChain>[] = [];

  /** Returns the ref of the chain with this content key, building it on first use. */
  namedChain(ref: string, purpose: () => string, build: () => PendingFilter[]): string {
    let c = this.named.get(ref);
    if (!c) {
      // The chains this one jumps to are captured with it, so a fragment that uses it is whole.
      const deps = new Map<string, NamedChain>();
      this.capturing.push(deps);
      let filters: PendingFilter[];
      try {
        filters = build();
      } finally {
        this.capturing.pop();
      }
      c = { purpose: purpose(), filters, deps };
      this.named.set(ref, c);
    }
    this.record(ref, c);
    return ref;
  }

  private record(ref: string, c: NamedChain): void {
    for (const cap of this.capturing) {
      cap.set(ref, c);
      for (const [r, d] of c.deps) cap.set(r, d);
    }
  }

  /**
   * Runs `build` and returns what it wrote as a fragment: its filters and every named chain it
   * used. A fragment depends only on the inputs of `build`, so a cache can keep it and `replay` it
   * into the ChainSet of a later compile instead of building it again.
   */
  capture(build: (out: PendingFilter[]) => void): ChainFragment {
    const chains = new Map<string, NamedChain>();
    const filters: PendingFilter[] = [];
    this.capturing.push(chains);
    try {
      build(filters);
    } finally {
      this.capturing.pop();
    }
    return { filters, chains };
  }

  /**
   * Adds a captured fragment: its filters to `out`, its named chains to this set. Into a fixed
   * chain, the fragment is kept whole (finish() sorts it once and reuses that).
   */
  replay(fragment: ChainFragment, out: PendingFilter[]): void {
    for (const [ref, c] of fragment.chains) {
      if (!this.named.has(ref)) this.named.set(ref, c);
      this.record(ref, c);
    }
    const fixed = this.fixedByArray.get(out);
    if (fixed) fixed.replayed.push({ at: out.length, fragment });
    else for (const f of fragment.filters) out.push(f);
  }

  /** The chain numbers finish() gave the named chains (by ref). */
  numbers = new Map<string, number>();

  finish(): Chain[] {
    const refs = [...this.named.keys()].sort();
    const number = new Map<string, number>();
    refs.forEach((r, i) => number.set(r, FIXED + i));
    this.numbers = number;
    const chainOf = (ref: string): number => {
      const n = number.get(ref);
      if (n === undefined) throw new Error(`internal: chain ref ${ref} was never built`);
      return n;
    };
    const resolved = this.resolved ?? new ResolvedFilters();
    const resolveFilter = (f: PendingFilter): Filter => resolved.resolve(f, chainOf);
    const resolve = (filters: readonly PendingFilter[]): Filter[] => sortFilters(filters.map(resolveFilter));
    const sortedOnce = (run: FilterRun, refs: Iterable<string>) =>
      resolved.sortedResolved(run, refs, chainOf);
    const chains: Chain[] = [];
    for (const [index, c] of [...this.fixed.entries()].sort((a, b) => a[0] - b[0])) {
      // Runs in the order they were written, each sorted; merged stably, as one sort would.
      const runs: (readonly Filter[])[] = [];
      let from = 0;
      for (const { at, fragment } of c.replayed) {
        runs.push(resolve(c.filters.slice(from, at)));
        runs.push(sortedOnce(fragment, fragment.chains.keys()));
        from = at;
      }
      runs.push(resolve(from === 0 ? c.filters : c.filters.slice(from)));
      chains.push({ index, purpose: c.purpose, filters: mergeRuns(runs) });
    }
    for (const r of refs) {
      const c = this.named.get(r)!;
      chains.push({ index: number.get(r)!, purpose: c.purpose, filters: sortedOnce(c, c.deps.keys()) });
    }
    return chains;
  }
}

/**
 * Prio-sorted runs as one list, as a stable sort of them one after the other would order them:
 * one copy when each run starts at or after the prio where the one before ends (the usual case:
 * a VF's overrides, then its prefixes, then its fallback), else merged pairwise.
 */
export function mergeRuns<F extends { prio: number }>(runs: readonly (readonly F[])[]): readonly F[] {
  const full = runs.filter((r) => r.length > 0);
  if (full.length <= 1) return full[0] ?? runs[0] ?? [];
  for (let i = 1; i < full.length; i++) {
    const before = full[i - 1]!;
    if (before[before.length - 1]!.prio > full[i]![0]!.prio) return full.reduce(mergeByPrio);
  }
  return full[0]!.concat(...full.slice(1));
}

/** Two prio-sorted lists as one; on equal prio, `a` first (a stable sort of a then b). */
export function mergeByPrio<F extends { prio: number }>(a: readonly F[], b: readonly F[]): readonly F[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  // Runs that follow each other (a VF's overrides before its prefixes) need no merge.
  if (a[a.length - 1]!.prio <= b[0]!.prio) return a.concat(b);
  // Runs of equal prio are long: the end of each run is found by binary search, so only the
  // copying is linear (reading every filter's prio made a large merge slow).
  const out = new Array<F>(a.length + b.length);
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const k = firstAbove(a, b[j]!.prio, i, false);
    while (i < k) out[n++] = a[i++]!;
    if (i === a.length) break;
    const m = firstAbove(b, a[i]!.prio, j, true);
    while (j < m) out[n++] = b[j++]!;
  }
  while (i < a.length) out[n++] = a[i++]!;
  while (j < b.length) out[n++] = b[j++]!;
  return out;
}

/** The first index from `from` whose prio is above `prio` (or, with `orEqual`, at least `prio`). */
function firstAbove<F extends { prio: number }>(
  list: readonly F[],
  prio: number,
  from: number,
  orEqual: boolean,
): number {
  let lo = from;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = list[mid]!.prio;
    if (p > prio || (orEqual && p === prio)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The one chain a filter jumps to by reference, if any (the compiler writes at most one). */
function gotoRefOf(actions: readonly PendingAction[]): string | undefined {
  let ref: string | undefined;
  for (const a of actions) {
    if (a.kind !== 'gotoRef') continue;
    if (ref !== undefined) throw new Error('internal: a filter with two chain references');
    ref = a.ref;
  }
  return ref;
}

/**
 * Order by prio. Filters that share a prio are disjoint, so among them the compiler's own order
 * (deterministic: it walks sorted inputs) is kept; the sort is stable.
 */
export function sortFilters<F extends { prio: number }>(filters: readonly F[]): F[] {
  let sorted = true;
  for (let i = 1; i < filters.length && sorted; i++) sorted = filters[i - 1]!.prio <= filters[i]!.prio;
  if (sorted) return filters.slice();
  // Prios are small integers (see layout.ts): a counting sort, stable, without comparing filters.
  let max = 0;
  for (const f of filters) if (f.prio > max) max = f.prio;
  const start = new Int32Array(max + 2);
  for (const f of filters) start[f.prio + 1]!++;
  for (let p = 1; p <= max + 1; p++) start[p]! += start[p - 1]!;
  const out = new Array<F>(filters.length);
  for (const f of filters) out[start[f.prio]!++] = f;
  return out;
}
