// The address blocks and sub-blocks that a split chain 2 dispatches on (see split-layout.ts), and
// the refs of their chains.

import { CHUNK_BITS, FAMILY_BITS } from '../chains/prefix-rules.js';
import type { Family } from '../../../util/ip/index.js';

/** Address bits of a block (an IPv4 /24, an IPv6 /120): the blocks of prefix-rules' CHUNK_BITS. */
export const BLOCK_BITS = CHUNK_BITS;

export const BLOCK_SHIFT = BigInt(BLOCK_BITS);

/**
 * Address bits of a sub-block, the second dispatch level of a large block chain (32 addresses:
 * an IPv4 /27, an IPv6 /123; chosen by measurement, bench/README.md, issue 17).
 */
export const SUB_BLOCK_BITS = 5;

export const SUB_BLOCK_SHIFT = BigInt(SUB_BLOCK_BITS);

/** The first address of the unit (block or sub-block) that holds [lo, hi], or undefined when it spans more. */
export function unitOf(lo: bigint, hi: bigint, shift: bigint): bigint | undefined {
  return lo >> shift === hi >> shift ? (lo >> shift) << shift : undefined;
}

/** Ref of the rest of a split chain 2 (the egress prefixes and the fallback). */
export const REST_REF = 'new/rest';

/**
 * Ref of a block chain: by position (family and block), not by content, so that chains keep
 * their relative numbers while the occupied blocks stay. Refs sort as numbers do: address order,
 * and every block chain before the rest chain and the port chains ("new/b" < "new/r" < "ports"),
 * so that their gotos go forward.
 */
export function blockRef(family: Family, base: bigint): string {
  return `new/block/ipv${family}/${base.toString(16).padStart(FAMILY_BITS[family] / 4, '0')}`;
}

/**
 * Ref of a sub-block's chain: its block's ref and its own first address, so that it sorts right
 * after its block chain (a longer string with the same start) and before the next block's.
 */
export function subBlockRef(family: Family, block: bigint, base: bigint): string {
  return `${blockRef(family, block)}/${base.toString(16).padStart(FAMILY_BITS[family] / 4, '0')}`;
}
