// Where the agent's filters live on a device. Everything in these ranges belongs to the agent;
// everything outside them is left alone.
//
//   chain 0, prio ENTRY_PRIO, handle ENTRY_HANDLE: the single entry filter, "goto chain <root>"
//   chains OWNED_FIRST .. OWNED_LAST: the agent's chains, numbered per chain by the planner
//
// The compiler numbers a device's chains relatively (0 = root). The planner gives each relative
// chain an absolute number in the owned range (src/tc/apply/plan-chains.ts): a chain whose content
// is unchanged keeps its number, a changed one gets a fresh number, and one `tc filter replace`
// of the entry filter switches to the new root (make-before-break).

export const ENTRY_CHAIN = 0;
export const ENTRY_PRIO = 1;
export const ENTRY_HANDLE = 1;
export const OWNED_FIRST = 10000;
export const OWNED_LAST = 29999;
/** A fresh chain's first and second choice: FRESH_BASE[0] + relative, then FRESH_BASE[1] + relative. */
export const FRESH_BASE = [10000, 20000] as const;
/** Relative chain indices run from 0 to RELATIVE_SPAN - 1. */
export const RELATIVE_SPAN = 10000;
/** Action cookie on the entry filter: marks it as ours ("mnp-tc" in hex). */
export const ENTRY_COOKIE = '6d6e702d7463';

/** Which of the two fresh bases a number is taken from (0: the first choice, 10000 + relative). */
export type FreshChoice = 0 | 1;

/** Relative chain index -> absolute chain number, for one device. */
export type ChainNumbering = (relative: number) => number;

export function absoluteChain(choice: FreshChoice, relative: number): number {
  if (!Number.isInteger(relative) || relative < 0 || relative >= RELATIVE_SPAN) {
    throw new Error(`relative chain ${relative} outside 0..${RELATIVE_SPAN - 1}`);
  }
  return FRESH_BASE[choice] + relative;
}

/** The numbering of a fresh install (what `render` prints): 10000 + relative. */
export const FRESH_NUMBERING: ChainNumbering = (relative) => absoluteChain(0, relative);

/** A planned numbering (index = relative chain) as a function; a chain it does not number throws. */
export function numberingFrom(chains: readonly number[]): ChainNumbering {
  return (relative) => {
    const n = chains[relative];
    if (n === undefined) throw new Error(`relative chain ${relative} has no number`);
    return n;
  };
}

export function isOwnedChain(chain: number): boolean {
  return Number.isInteger(chain) && chain >= OWNED_FIRST && chain <= OWNED_LAST;
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
