// Builds the chains of one device. Chains 0-2 have fixed roles; every other chain is named by its
// content, so equal content is shared and numbering depends only on what the chains hold.

import type { Action, Chain, Filter } from './ir.js';

export const CLASSIFY_CHAIN = 0;
export const STATE_CHAIN = 1;
export const NEW_CHAIN = 2;
const FIXED = 3;

/** A goto to a content-named chain, resolved to a number when the device is finished. */
export interface ChainRef {
  ref: string;
}

export type PendingAction = Action | { kind: 'gotoRef'; ref: string };

export interface PendingFilter extends Omit<Filter, 'actions'> {
  actions: PendingAction[];
}

export class ChainSet {
  private fixed = new Map<number, { purpose: string; filters: PendingFilter[] }>();
  private named = new Map<string, { purpose: string; filters: PendingFilter[] }>();

  fixedChain(index: number, purpose: string): PendingFilter[] {
    let c = this.fixed.get(index);
    if (!c) {
      c = { purpose, filters: [] };
      this.fixed.set(index, c);
    }
    return c.filters;
  }

  /** Returns the ref of the chain with this content key, building it on first use. */
  namedChain(ref: string, purpose: string, build: () => PendingFilter[]): string {
    if (!this.named.has(ref)) this.named.set(ref, { purpose, filters: build() });
    return ref;
  }

  finish(): Chain[] {
    const refs = [...this.named.keys()].sort();
    const number = new Map<string, number>();
    refs.forEach((r, i) => number.set(r, FIXED + i));
    const resolve = (filters: PendingFilter[]): Filter[] =>
      sortFilters(
        filters.map((f) => ({
          ...f,
          actions: f.actions.map((a): Action => {
            if (a.kind !== 'gotoRef') return a;
            const n = number.get(a.ref);
            if (n === undefined) throw new Error(`internal: chain ref ${a.ref} was never built`);
            return { kind: 'goto', chain: n };
          }),
        })),
      );
    const chains: Chain[] = [];
    for (const [index, c] of [...this.fixed.entries()].sort((a, b) => a[0] - b[0])) {
      chains.push({ index, purpose: c.purpose, filters: resolve(c.filters) });
    }
    for (const r of refs) {
      const c = this.named.get(r)!;
      chains.push({ index: number.get(r)!, purpose: c.purpose, filters: resolve(c.filters) });
    }
    return chains;
  }
}

/** Stable order: by prio, then by the canonical text of the match (filters in one prio are disjoint). */
export function sortFilters(filters: Filter[]): Filter[] {
  const keyed = filters.map((f) => ({ f, k: JSON.stringify([f.match, f.actions]) }));
  keyed.sort((a, b) => a.f.prio - b.f.prio || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.f);
}
