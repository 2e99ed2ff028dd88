// The frame shapes that carry IP through a representor: untagged, one 802.1Q tag, and QinQ
// (802.1ad outer tag, 802.1Q inner tag). Every IP decision is rendered once per shape so tagged
// traffic gets the same verdict as untagged traffic.

import type { Family } from '../../../util/ip/index.js';
import type { FilterProtocol, FlowerMatch } from '../../ir.js';

export interface IpCarrier {
  /** Short name for notes: "ipv4", "vlan/ipv4", "qinq/ipv4", ... */
  name: string;
  family: Family;
  protocol: Exclude<FilterProtocol, 'all'>;
  /** The VLAN keys that select this shape (empty for untagged). */
  keys: Pick<FlowerMatch, 'vlanEthType' | 'cvlanEthType'>;
  /**
   * Conntrack cannot follow this shape: act_ct on Linux 6.1 drops QinQ frames (measured in the
   * lab, test/lab/FINDINGS.md). Such frames are judged without conntrack, every packet as a new
   * connection: never more than the policy allows, but replies across an isolated direction drop.
   */
  stateless: boolean;
}

export const IP_CARRIERS: readonly IpCarrier[] = [
  { name: 'ipv4', family: 4, protocol: 'ip', keys: {}, stateless: false },
  { name: 'ipv6', family: 6, protocol: 'ipv6', keys: {}, stateless: false },
  { name: 'vlan/ipv4', family: 4, protocol: '802.1q', keys: { vlanEthType: 'ip' }, stateless: false },
  { name: 'vlan/ipv6', family: 6, protocol: '802.1q', keys: { vlanEthType: 'ipv6' }, stateless: false },
  {
    name: 'qinq/ipv4',
    family: 4,
    protocol: '802.1ad',
    keys: { vlanEthType: '802.1q', cvlanEthType: 'ip' },
    stateless: true,
  },
  {
    name: 'qinq/ipv6',
    family: 6,
    protocol: '802.1ad',
    keys: { vlanEthType: '802.1q', cvlanEthType: 'ipv6' },
    stateless: true,
  },
];

export function carriersOf(family: Family): readonly IpCarrier[] {
  return CARRIERS_BY_FAMILY[family];
}

// Asked for on every piece the compiler writes: one array per family, never changed.
const CARRIERS_BY_FAMILY: Record<Family, readonly IpCarrier[]> = {
  4: IP_CARRIERS.filter((c) => c.family === 4),
  6: IP_CARRIERS.filter((c) => c.family === 6),
};

/**
 * Tagged shapes that could hide IP but that the pipeline does not classify (a second 802.1Q tag,
 * an 802.1ad tag without an inner 802.1Q tag, a third tag). They are dropped: passing them would
 * let IP around the policy.
 */
export const UNCLASSIFIED_TAGGED: readonly { protocol: '802.1q' | '802.1ad'; keys: FlowerMatch }[] = [
  { protocol: '802.1q', keys: { vlanEthType: '802.1q' } },
  { protocol: '802.1q', keys: { vlanEthType: '802.1ad' } },
  { protocol: '802.1ad', keys: { vlanEthType: 'ip' } },
  { protocol: '802.1ad', keys: { vlanEthType: 'ipv6' } },
  { protocol: '802.1ad', keys: { vlanEthType: '802.1ad' } },
  { protocol: '802.1ad', keys: { vlanEthType: '802.1q', cvlanEthType: '802.1q' } },
  { protocol: '802.1ad', keys: { vlanEthType: '802.1q', cvlanEthType: '802.1ad' } },
];
