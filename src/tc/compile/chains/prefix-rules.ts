// Longest-prefix compression of an address map. The compiler knows, for every address of one
// family, which decision applies (a few disjoint pieces, everything else takes the fallback). The
// disjoint CIDR cover of those pieces can be large: a /16 minus two /24 is nine prefixes. Checked
// longest prefix first, three prefixes say the same (the /16, and the two /24 as holes).
//
// This is the Optimal Routing Table Constructor (Draves, King, Venkatachary, Zill, 1999): build
// the binary trie of the map, compute bottom-up the set of values each subtree could inherit at no
// cost, then choose top-down. It yields the fewest prefixes for the map. Rules of one prefix length
// never overlap, so the renderer gives each length its own priority, longer lengths first.
//
// Recompiles: a map is cut into aligned blocks of CHUNK_BITS address bits. What ORTC computes
// inside a block depends only on the pieces inside it (bottom up) and on the value the block
// inherits (top down), so a map built with the state of its previous version reuses every block
// whose pieces did not change: one pod's address changing its decision rebuilds one block.

import type { Family } from '../../../util/ip/index.js';
import type { Interval } from '../../../util/ip/index.js';

export const FAMILY_BITS: Record<Family, number> = { 4: 32, 6: 128 };

// 2^k and 2^k - 1 for k = 0..128: the trie asks for them at every node (BigInt shifts allocate).
const SIZE: bigint[] = Array.from({ length: 129 }, (_, k) => 1n << BigInt(k));
const LAST_OFFSET: bigint[] = SIZE.map((n) => n - 1n);

/** Address bits of one reusable block: 256 addresses (an IPv4 /24, an IPv6 /120). */
export const CHUNK_BITS = 8;

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

/**
 * Rules of one part of the map: the rules above block level, or those inside one block. Sorted by
 * length (longest first), then by address. A group from a reused block is the same object as
 * before, so what a caller derived from it (filters) can be reused with it.
 */
export interface PrefixRuleGroup {
  rules: PrefixRule[];
  /** The distinct keys of `rules`, sorted. */
  keys: string[];
}

interface TrieNode {
  lo: bigint;
  len: number;
  /** Values this subtree can take from its parent without a rule of its own (sorted keys). */
  set: string[];
  left?: TrieNode;
  right?: TrieNode;
  /** Set on block roots. */
  block?: Block;
}

interface MergedPiece {
  lo: bigint;
  hi: bigint;
  key: string;
}

/** One block of a map: its pieces decide it, and the rules it needs per inherited value. */
export interface Block {
  lo: bigint;
  hi: bigint;
  fallbackKey: string;
  /** The map's pieces that touch the block (not clipped). */
  pieces: MergedPiece[];
  /** The block root's set (see TrieNode). */
  set: string[];
  /** The rule group of the value the block inherits (kept for the next build of the map). */
  groups: Map<string, PrefixRuleGroup>;
  /** The block's trie while a build uses it; dropped after, and rebuilt from `pieces` if needed. */
  trie?: TrieNode;
}

/** What a map's blocks computed, to be handed to the build of its next version. */
export interface PrefixMapState {
  /** By the block's first address. */
  blocks: Map<bigint, Block>;
}

/** Whether `b` holds the same pieces as `merged[from..]` between lo and hi, with the same fallback. */
function sameBlock(b: Block, merged: MergedPiece[], from: number, fallbackKey: string): boolean {
  if (b.fallbackKey !== fallbackKey) return false;
  let i = from;
  for (const p of b.pieces) {
    const m = merged[i++];
    if (
      !m ||
      m.key !== p.key ||
      (m.lo > b.lo ? m.lo : b.lo) !== (p.lo > b.lo ? p.lo : b.lo) ||
      (m.hi < b.hi ? m.hi : b.hi) !== (p.hi < b.hi ? p.hi : b.hi)
    )
      return false;
  }
  const next = merged[i];
  return !next || next.lo > b.hi;
}

function intersect(a: string[], b: string[]): string[] {
  const out: string[] = [];
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

function union(a: string[], b: string[]): string[] {
  const out: string[] = [];
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

function byLengthThenAddress(a: PrefixRule, b: PrefixRule): number {
  return b.len - a.len || (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0);
}

function group(rules: PrefixRule[]): PrefixRuleGroup {
  rules.sort(byLengthThenAddress);
  return { rules, keys: [...new Set(rules.map((r) => r.key))].sort() };
}

/**
 * The fewest prefix rules that, checked longest prefix first and falling back to `fallbackKey`
 * (the decision after the last rule), give every address of `family` the key of the piece that
 * holds it, or `fallbackKey` outside all pieces. `pieces` must be disjoint. The rules come in
 * groups: first those above block level (if any), then one group per block, in address order.
 * `previous` is the state of an earlier version of the same map: blocks whose pieces are the same
 * are taken from it.
 */
export function prefixRuleGroups(
  pieces: readonly KeyedPiece[],
  fallbackKey: string,
  family: Family,
  previous?: PrefixMapState,
): { groups: PrefixRuleGroup[]; state: PrefixMapState } {
  const bits = FAMILY_BITS[family];
  const blockLen = bits - CHUNK_BITS;
  // Merge touching pieces with equal keys so that uniform ranges are recognised as leaves.
  // Callers mostly pass pieces in address order already: then sorting them is skipped.
  let inOrder = true;
  for (let i = 1; i < pieces.length && inOrder; i++)
    inOrder = pieces[i - 1]!.interval[0] < pieces[i]!.interval[0];
  const sorted = inOrder ? pieces : [...pieces].sort((a, b) => (a.interval[0] < b.interval[0] ? -1 : 1));
  const merged: MergedPiece[] = [];
  for (const p of sorted) {
    const last = merged[merged.length - 1];
    if (last && last.key === p.key && last.hi + 1n === p.interval[0]) last.hi = p.interval[1];
    else merged.push({ lo: p.interval[0], hi: p.interval[1], key: p.key });
  }
  const blocks = new Map<bigint, Block>();
  const onBlock = (lo: bigint, hi: bigint, from: number, build: () => TrieNode): TrieNode => {
    let block = previous?.blocks.get(lo);
    if (!block || !sameBlock(block, merged, from, fallbackKey)) {
      const trie = build();
      let to = from;
      while (to < merged.length && merged[to]!.lo <= hi) to++;
      block = { lo, hi, fallbackKey, pieces: merged.slice(from, to), set: trie.set, groups: new Map(), trie };
    }
    blocks.set(lo, block);
    return { lo, len: blockLen, set: block.set, block };
  };
  const root = trieBuilder(merged, fallbackKey, bits, blockLen, onBlock)(0n, 0);

  const upper: PrefixRule[] = [];
  const groups: PrefixRuleGroup[] = [];
  const inheritedBy = new Map<Block, string>();
  const choose = (n: TrieNode, inherited: string, rules: PrefixRule[]): void => {
    if (n.block) {
      const b = n.block;
      inheritedBy.set(b, inherited);
      let g = b.groups.get(inherited);
      if (!g) {
        b.trie ??= trieBuilder(b.pieces, b.fallbackKey, bits, -1)(b.lo, blockLen);
        const inside: PrefixRule[] = [];
        choose(b.trie, inherited, inside);
        b.groups.set(inherited, (g = group(inside)));
      }
      if (g.rules.length > 0) groups.push(g);
      return;
    }
    let value = inherited;
    if (!n.set.includes(inherited)) {
      value = n.set[0]!;
      rules.push({ lo: n.lo, len: n.len, key: value });
    }
    if (n.left) choose(n.left, value, rules);
    if (n.right) choose(n.right, value, rules);
  };
  choose(root, fallbackKey, upper);
  if (upper.length > 0) groups.unshift(group(upper));
  // Block tries are only needed again for a new inherited value: rebuilt then, not kept; and a
  // block keeps the group of the value it inherits now, not of every value it ever inherited.
  for (const [b, inherited] of inheritedBy) {
    delete b.trie;
    b.groups = new Map([[inherited, b.groups.get(inherited)!]]);
  }
  return { groups, state: { blocks } };
}

/**
 * The ORTC trie over sorted, merged pieces, built bottom up. A node at `blockLen` that is not
 * uniform is handed to `onBlock` (which may reuse an earlier block instead of building it).
 */
function trieBuilder(
  merged: MergedPiece[],
  fallbackKey: string,
  bits: number,
  blockLen: number,
  onBlock?: (lo: bigint, hi: bigint, from: number, build: () => TrieNode) => TrieNode,
): (lo: bigint, len: number) => TrieNode {
  const leafSets = new Map<string, string[]>();
  const leaf = (lo: bigint, len: number, key: string): TrieNode => {
    let set = leafSets.get(key);
    if (!set) leafSets.set(key, (set = [key]));
    return { lo, len, set };
  };
  // Trie construction visits ranges in address order, so the piece cursor only moves forward.
  let cursor = 0;
  const build = (lo: bigint, len: number): TrieNode => {
    const hi = lo + LAST_OFFSET[bits - len]!;
    while (cursor < merged.length && merged[cursor]!.hi < lo) cursor++;
    const p = merged[cursor];
    const uniform = !p || p.lo > hi ? fallbackKey : p.lo <= lo && p.hi >= hi ? p.key : undefined;
    // Every node at block level is a block, uniform or not: then all rules of block length and
    // longer come from blocks, in address order.
    if (len === blockLen && onBlock)
      return onBlock(lo, hi, cursor, () => (uniform === undefined ? split(lo, len) : leaf(lo, len, uniform)));
    if (uniform !== undefined) return leaf(lo, len, uniform);
    return split(lo, len);
  };
  const split = (lo: bigint, len: number): TrieNode => {
    const half = SIZE[bits - len - 1]!;
    const left = build(lo, len + 1);
    const right = build(lo + half, len + 1);
    const both = intersect(left.set, right.set);
    return { lo, len, set: both.length > 0 ? both : union(left.set, right.set), left, right };
  };
  return build;
}

/** All rules of the map in one list, sorted by length (longest first), then by address. */
export function prefixRules(
  pieces: readonly KeyedPiece[],
  fallbackKey: string,
  family: Family,
): PrefixRule[] {
  return prefixRuleGroups(pieces, fallbackKey, family)
    .groups.flatMap((g) => g.rules)
    .sort(byLengthThenAddress);
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
