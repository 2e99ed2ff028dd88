// Numeric addresses of pod interfaces, parsed once per interface object (kept in the compile's
// CompileMemo). The compiler looks at the same interfaces from every representor of a node (as
// sources, destinations and named-port owners), and parsing address text is a large part of a
// compile otherwise.

import type { AddressOwner, CompileMemo } from '../reuse/compile-memo.js';
import type { ManagedInterface } from '../../../policy/types.js';
import { parseAddress, type Interval } from '../../../util/ip/index.js';
import type { Family } from '../../../util/ip/index.js';

/** The interface's addresses of one family, in the order of its `ips`. */
export function addressesOf(memo: CompileMemo, itf: ManagedInterface, family: Family): bigint[] {
  const parsed = memo.interfaceAddresses;
  let entry = parsed.get(itf);
  if (!entry) {
    entry = { 4: [], 6: [] };
    for (const ip of itf.ips) {
      const a = parseAddress(ip);
      if (a) entry[a.family].push(a.value);
    }
    parsed.set(itf, entry);
  }
  return entry[family];
}

/** Every address of `interfaces` inside `intervals`, in address order (interfaces' list order on ties). */
export function ownersIn(
  memo: CompileMemo,
  interfaces: readonly ManagedInterface[],
  family: Family,
  intervals: readonly Interval[],
): AddressOwner[] {
  const indexes = memo.addressOwners;
  let index = indexes.get(interfaces);
  if (!index) {
    index = { 4: [], 6: [] };
    for (const iface of interfaces) {
      for (const f of [4, 6] as const) {
        for (const value of addressesOf(memo, iface, f)) index[f].push({ value, iface });
      }
    }
    for (const f of [4, 6] as const)
      index[f].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    indexes.set(interfaces, index);
  }
  const sorted = index[family];
  const out: AddressOwner[] = [];
  for (const [lo, hi] of intervals) {
    // First owner at or above lo (binary search), then walk while inside the interval.
    let a = 0;
    let b = sorted.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (sorted[mid]!.value < lo) a = mid + 1;
      else b = mid;
    }
    for (let i = a; i < sorted.length && sorted[i]!.value <= hi; i++) out.push(sorted[i]!);
  }
  return out;
}

const FAMILIES: Family[] = [4, 6];

/** Interfaces that share an address with another interface of the list. */
export function sharingAddresses(
  memo: CompileMemo,
  ifaces: readonly ManagedInterface[],
): Set<ManagedInterface> {
  const seen = new Map<string, ManagedInterface>();
  const out = new Set<ManagedInterface>();
  for (const iface of ifaces) {
    for (const family of FAMILIES) {
      for (const v of addressesOf(memo, iface, family)) {
        const k = `${family}/${v}`;
        const p = seen.get(k);
        if (p && p !== iface) out.add(p).add(iface);
        else seen.set(k, iface);
      }
    }
  }
  return out;
}
