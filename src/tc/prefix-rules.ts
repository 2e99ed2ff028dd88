// Longest-prefix compression of an address map. The compiler knows, for every address of one
// family, which decision applies (a few disjoint pieces, everything else takes the fallback). The
// disjoint CIDR cover of those pieces can be large: a /16 minus two /24 is nine prefixes. Checked
// longest prefix first, three prefixes say the same (the /16, and the two /24 as holes).
//
// This is the Optimal Routing Table Constructor (Draves, King, Venkatachary, Zill, 1999): build
// the binary trie of the map, compute bottom-up the set of values each subtree could inherit at no
// cost, then choose top-down. It yields the fewest prefixes for the map. Rules of one prefix length
// never overlap, so the renderer gives each length its own priority, longer lengths first.

import type { Family } from './encapsulation.js';
import type { Interval } from './address-space.js';

export const FAMILY_BITS: Record<Family, number> = { 4: 32, 6: 128 };

export interface KeyedPiece {
  interval: Interval;
  /** Equal keys mean equal decisions. */
  key: string;
}

export interface PrefixRule {
  /** First address of the prefix. */
  lo: bigint;
  /** Prefix length: 0 is the whole address space of the family. */
  len: number;
  key: string;
}

interface TrieNode {
  lo: bigint;
  len: number;
  /** Values this subtree can take from its parent without a rule of its own (sorted ids). */
  set: number[];
  left?: TrieNode;
  right?: TrieNode;
}

function intersect(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out.push(a[i]!);
      i++;
      j++;
    }
  }
  return out;
}

function union(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else if (i >= a.length || b[j]! < a[i]!) out.push(b[j++]!);
    else {
      out.push(a[i]!);
      i++;
      j++;
    }
  }
  return out;
}

/**
 * The fewest prefix rules that, checked longest prefix first and falling back to `fallbackKey`
 * (the decision after the last rule), give every address of `family` the key of the piece that
 * holds it, or `fallbackKey` outside all pieces. `pieces` must be disjoint. Rules come sorted by
 * length (longest first), then by address.
 */
export function prefixRules(pieces: KeyedPiece[], fallbackKey: string, family: Family): PrefixRule[] {
  const bits = FAMILY_BITS[family];
  // Merge touching pieces with equal keys so that uniform ranges are recognised as leaves.
  const sorted = [...pieces].sort((a, b) => (a.interval[0] < b.interval[0] ? -1 : 1));
  const merged: { lo: bigint; hi: bigint; key: string }[] = [];
  for (const p of sorted) {
    const last = merged[merged.length - 1];
    if (last && last.key === p.key && last.hi + 1n === p.interval[0]) last.hi = p.interval[1];
    else merged.push({ lo: p.interval[0], hi: p.interval[1], key: p.key });
  }
  const keys = [...new Set([fallbackKey, ...merged.map((m) => m.key)])].sort();
  const idOf = new Map(keys.map((k, i) => [k, i]));
  const fallback = idOf.get(fallbackKey)!;
  const leafSets = keys.map((_, i) => [i]);

  // Trie construction visits ranges in address order, so the piece cursor only moves forward.
  let cursor = 0;
  const build = (lo: bigint, len: number): TrieNode => {
    const hi = lo + (1n << BigInt(bits - len)) - 1n;
    while (cursor < merged.length && merged[cursor]!.hi < lo) cursor++;
    const p = merged[cursor];
    if (!p || p.lo > hi) return { lo, len, set: leafSets[fallback]! };
    if (p.lo <= lo && p.hi >= hi) return { lo, len, set: leafSets[idOf.get(p.key)!]! };
    const half = 1n << BigInt(bits - len - 1);
    const left = build(lo, len + 1);
    const right = build(lo + half, len + 1);
    const both = intersect(left.set, right.set);
    return { lo, len, set: both.length > 0 ? both : union(left.set, right.set), left, right };
  };
  const root = build(0n, 0);

  const rules: PrefixRule[] = [];
  const choose = (n: TrieNode, inherited: number): void => {
    let value = inherited;
    if (!n.set.includes(inherited)) {
      value = n.set[0]!;
      rules.push({ lo: n.lo, len: n.len, key: keys[value]! });
    }
    if (n.left) choose(n.left, value);
    if (n.right) choose(n.right, value);
  };
  choose(root, fallback);
  rules.sort((a, b) => b.len - a.len || (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  return rules;
}

/** The key of the rule that decides `addr` (longest matching prefix), or `fallbackKey`. */
export function lookupPrefixRules(
  rules: PrefixRule[],
  fallbackKey: string,
  family: Family,
  addr: bigint,
): string {
  const bits = FAMILY_BITS[family];
  for (const r of rules) {
    if (addr >> BigInt(bits - r.len) === r.lo >> BigInt(bits - r.len)) return r.key;
  }
  return fallbackKey;
}
