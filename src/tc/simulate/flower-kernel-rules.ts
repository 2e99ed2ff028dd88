// What the kernel and tc do with a chain's filters before a packet meets them: which key
// combinations tc refuses, and the order in which flower tries the filters of a chain.

import { parseCidrInterval } from '../../util/ip/index.js';
import type { Filter, FilterProtocol } from '../ir.js';

/** The ethertype the IP keys of a filter see: the protocol, or the ethertype inside its tags. */
function innerEthType(f: Filter): string | undefined {
  if (f.protocol === 'ip' || f.protocol === 'ipv6') return f.protocol;
  if (f.protocol === '802.1q' || f.protocol === '802.1ad') return f.match.cvlanEthType ?? f.match.vlanEthType;
  return undefined;
}

const VLAN: readonly string[] = ['802.1q', '802.1ad'];
const PORTED: readonly string[] = ['tcp', 'udp', 'sctp'];

function prefixProblem(key: string, cidr: string, ethType: string | undefined): string | undefined {
  if (ethType !== 'ip' && ethType !== 'ipv6') return `${key} needs an IP ethertype`;
  const parsed = parseCidrInterval(cidr);
  if (!parsed) return `${key} ${cidr} is not a prefix`;
  if (parsed.family !== (ethType === 'ip' ? 4 : 6)) return `${key} ${cidr} is not of ethertype ${ethType}`;
  return undefined;
}

/** Why `tc` refuses this filter, or undefined when it accepts it. */
export function tcRefusal(f: Filter): string | undefined {
  const m = f.match;
  if (m.vlanEthType !== undefined && !VLAN.includes(f.protocol))
    return 'vlan_ethtype needs protocol 802.1q or 802.1ad';
  if (m.cvlanEthType !== undefined && (m.vlanEthType === undefined || !VLAN.includes(m.vlanEthType)))
    return 'cvlan_ethtype needs vlan_ethtype 802.1q or 802.1ad';
  const ethType = innerEthType(f);
  if (m.ipProto !== undefined) {
    if (ethType !== 'ip' && ethType !== 'ipv6')
      return `ip_proto needs an IP ethertype (protocol ${f.protocol})`;
    if (m.ipProto === 'icmp' && ethType !== 'ip') return 'ip_proto icmp needs ethertype ip';
    if (m.ipProto === 'icmpv6' && ethType !== 'ipv6') return 'ip_proto icmpv6 needs ethertype ipv6';
  }
  for (const key of ['srcIp', 'dstIp'] as const) {
    const cidr = m[key];
    if (cidr === undefined) continue;
    const problem = prefixProblem(key === 'srcIp' ? 'src_ip' : 'dst_ip', cidr, ethType);
    if (problem) return problem;
  }
  if (m.dstPort !== undefined) {
    if (m.ipProto === undefined || !PORTED.includes(m.ipProto))
      return 'dst_port needs ip_proto tcp, udp or sctp';
    const [lo, hi] = m.dstPort;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi)
      return `dst_port ${lo}-${hi} is not a port range`;
  }
  if (m.icmpType !== undefined && m.ipProto !== 'icmp' && m.ipProto !== 'icmpv6')
    return 'type needs ip_proto icmp or icmpv6';
  if (m.icmpTypeMask !== undefined && m.icmpType === undefined) return 'a type mask needs a type';
  return undefined;
}

/**
 * The flower mask of a filter: which keys it sets and how wide. Filters of one priority that
 * share a mask sit in one hash table; the kernel tries the masks in the order they were created.
 */
function maskOf(f: Filter): string {
  const m = f.match;
  const prefixLength = (cidr: string | undefined) =>
    cidr === undefined ? '' : (cidr.split('/')[1] ?? 'host');
  const port = m.dstPort === undefined ? '' : m.dstPort[0] === m.dstPort[1] ? 'exact' : 'range';
  return [
    m.vlanEthType !== undefined,
    m.cvlanEthType !== undefined,
    m.ctState ?? '',
    m.ipProto !== undefined,
    prefixLength(m.srcIp),
    prefixLength(m.dstIp),
    port,
    m.icmpType === undefined ? '' : (m.icmpTypeMask ?? 0xff),
  ].join('|');
}

function problem(chain: number, f: Filter, why: string): Error {
  return new Error(`tc refuses chain ${chain} prio ${f.prio} (${f.note}): ${why}`);
}

/**
 * The filters of chain `chain` in the order the kernel tries them, given that they are written
 * in array order: by prio; within a prio, mask by mask in the order each mask first appears (a
 * new mask goes to the end of the prio's list), and within a mask in the order written (the
 * first that matches wins, for port ranges too). Throws when tc or the kernel would refuse the
 * chain: a key combination tc rejects, two protocols at one prio, or the same keys twice at one
 * prio. Computed on every call: a SimulatorMemo keeps it per filter array.
 */
export function kernelOrder(chain: number, filters: readonly Filter[]): Filter[] {
  const byPrio = new Map<
    number,
    { protocol: FilterProtocol; masks: Map<string, Filter[]>; keys: Set<string> }
  >();
  for (const f of filters) {
    const why = tcRefusal(f);
    if (why) throw problem(chain, f, why);
    let at = byPrio.get(f.prio);
    if (!at) {
      at = { protocol: f.protocol, masks: new Map(), keys: new Set() };
      byPrio.set(f.prio, at);
    }
    if (at.protocol !== f.protocol)
      throw problem(chain, f, `protocol ${f.protocol} at a prio that holds protocol ${at.protocol}`);
    const key = JSON.stringify(f.match, Object.keys(f.match).sort());
    if (at.keys.has(key)) throw problem(chain, f, 'a filter with the same keys exists at this prio');
    at.keys.add(key);
    const mask = maskOf(f);
    const list = at.masks.get(mask);
    if (list) list.push(f);
    else at.masks.set(mask, [f]);
  }
  const out: Filter[] = [];
  for (const prio of [...byPrio.keys()].sort((a, b) => a - b)) {
    for (const list of byPrio.get(prio)!.masks.values()) out.push(...list);
  }
  return out;
}
