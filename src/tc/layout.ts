// Where the agent's filters live on a device. Everything in these ranges belongs to the agent;
// everything outside them is left alone.
//
//   chain 0, prio ENTRY_PRIO, handle ENTRY_HANDLE: the single entry filter, "goto chain <generation root>"
//   chains GENERATION_BASE[0] .. + GENERATION_SPAN - 1: generation A
//   chains GENERATION_BASE[1] .. + GENERATION_SPAN - 1: generation B
//
// Two generations let a new rule set be built beside the live one and switched in with one
// `tc filter replace` of the entry filter (make-before-break).

export const ENTRY_CHAIN = 0;
export const ENTRY_PRIO = 1;
export const ENTRY_HANDLE = 1;
export const GENERATION_BASE = [10000, 20000] as const;
export const GENERATION_SPAN = 10000;
/** Action cookie on the entry filter: marks it as ours ("mnp-tc" in hex). */
export const ENTRY_COOKIE = '6d6e702d7463';

export type Generation = 0 | 1;

export function absoluteChain(gen: Generation, relative: number): number {
  if (relative < 0 || relative >= GENERATION_SPAN) {
    throw new Error(`relative chain ${relative} outside 0..${GENERATION_SPAN - 1}`);
  }
  return GENERATION_BASE[gen] + relative;
}

/** Which generation (if any) an absolute chain number belongs to. */
export function generationOfChain(chain: number): Generation | undefined {
  for (const g of [0, 1] as const) {
    if (chain >= GENERATION_BASE[g] && chain < GENERATION_BASE[g] + GENERATION_SPAN) return g;
  }
  return undefined;
}

export function isOwnedChain(chain: number): boolean {
  return generationOfChain(chain) !== undefined;
}

/**
 * Priorities inside a chain: prio = 10 * (slot + 1) + offset, where `slot` orders the stages of a
 * chain and `offset` separates filter protocols (all filters at one prio must share a protocol).
 */
export const PROTOCOL_OFFSET = { ip: 0, ipv6: 1, '802.1q': 2, '802.1ad': 3, all: 4 } as const;

export function prioFor(slot: number, protocol: keyof typeof PROTOCOL_OFFSET): number {
  return 10 * (slot + 1) + PROTOCOL_OFFSET[protocol];
}

/**
 * Chains that decide by address hold longest-prefix rules: a /N rule of a family with B address
 * bits sits in slot 1 + B - N (so /32 and /128 come first and /0 last), and the chain's fallback
 * after every prefix, in FALLBACK_SLOT. Slot 0 is left for exact overrides that come before every
 * prefix (on a VF: the pods of the node). Prios therefore run from 10 to 1314.
 */
export const OVERRIDE_SLOT = 0;
export function prefixSlot(bits: number, len: number): number {
  return 1 + bits - len;
}
export const FALLBACK_SLOT = 130;
