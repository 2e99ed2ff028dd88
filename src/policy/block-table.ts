// The address blocks rules list, interned and ranked: every rule's peers are in one order (by
// address, then except text) without duplicates, whichever path resolved the rule.

import { type Cidr, compareCidr, hostCidr, parseAddress, parseCidr } from '../util/ip/index.js';
import type { AddressBlock, ManagedInterface, Peer } from './types.js';

/** An address block any rule can list, with its place in the order rules list blocks. */
export interface RankedBlock {
  /**
   * What rules list. Shared by every rule that lists the block: like ResolvedRules (shared by
   * every interface of a network), blocks are read-only once the model is built.
   */
  block: AddressBlock;
  exceptText: string;
  parsed: Cidr;
  /** Index in the output order; -1 until the table is ranked. */
  rank: number;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order rules list their blocks in: by address (compareCidr), then except text. */
export function compareBlocks(
  a: { parsed: Cidr; exceptText: string },
  b: { parsed: Cidr; exceptText: string },
): number {
  return compareCidr(a.parsed, b.parsed) || compareText(a.exceptText, b.exceptText);
}

/**
 * Every distinct address block rules can list (pod host blocks, ipBlock peers), each parsed and
 * formatted once, then ranked by compareBlocks. Ordering a rule's blocks is then an integer sort
 * instead of comparing CIDRs per rule. The full build interns every block before it resolves a
 * rule, so it ranks once; the update interns as it resolves, and ranks again when it must.
 */
export class BlockTable {
  private readonly byId = new Map<string, RankedBlock>();
  private ordered: RankedBlock[] = [];
  /** A block was interned since the last ranking. */
  private unranked = false;

  /** The one block for this cidr and excepts (same text, same object). */
  intern(cidr: string, except: readonly string[], parsed: Cidr): RankedBlock {
    const exceptText = except.join(',');
    const id = `${cidr}|${exceptText}`;
    let block = this.byId.get(id);
    if (!block) {
      this.byId.set(id, (block = { block: { cidr, except: [...except] }, exceptText, parsed, rank: -1 }));
      this.unranked = true;
    }
    return block;
  }

  /** Ranks every block interned so far (sorted() does it when a block came since). */
  rank(): void {
    this.ordered = [...this.byId.values()].sort(compareBlocks);
    this.ordered.forEach((b, i) => (b.rank = i));
    this.unranked = false;
  }

  /** The blocks in rule order, de-duplicated. */
  sorted(blocks: readonly RankedBlock[]): AddressBlock[] {
    if (this.unranked) this.rank();
    const order = new Int32Array(blocks.length);
    for (let i = 0; i < blocks.length; i++) order[i] = (blocks[i] as RankedBlock).rank;
    order.sort();
    const out: AddressBlock[] = [];
    for (let i = 0; i < order.length; i++) {
      if (i > 0 && order[i] === order[i - 1]) continue;
      out.push((this.ordered[order[i] as number] as RankedBlock).block);
    }
    return out;
  }
}

/**
 * An ipBlock peer's block. normalizePeers writes the cidr with formatCidr, so it always parses
 * and is canonical: equal addresses have equal text.
 */
export function ipBlockOf(peer: Extract<Peer, { kind: 'ipBlock' }>, table: BlockTable): RankedBlock {
  const parsed = parseCidr(peer.cidr);
  if (!parsed) throw new Error(`ipBlock cidr ${JSON.stringify(peer.cidr)} was not normalised`);
  return table.intern(peer.cidr, peer.except, parsed);
}

/** The host blocks (/32, /128) of an interface's addresses: what a selector peer allows of it. */
export function hostBlocks(itf: ManagedInterface, table: BlockTable): RankedBlock[] {
  const out: RankedBlock[] = [];
  for (const ip of itf.ips) {
    const addr = parseAddress(ip);
    if (!addr) continue;
    const cidr = hostCidr(addr);
    // `ip` is canonical text (podInterfaces), so this is formatCidr(cidr) without formatting.
    out.push(table.intern(`${ip}/${cidr.prefix}`, [], cidr));
  }
  return out;
}
