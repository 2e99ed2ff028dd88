// A packet as the simulator sees it: enough of the headers for every key the compiler emits.

import type { IpProto } from './ir.js';

export type VlanTpid = '802.1q' | '802.1ad';

export interface Packet {
  /** Representor whose ingress hook the packet enters. */
  device: string;
  /** VLAN tags, outermost first. */
  tags: VlanTpid[];
  /** Ethertype inside all tags. */
  ethType: 'ip' | 'ipv6' | 'arp' | 'other';
  srcIp?: string;
  dstIp?: string;
  ipProto?: IpProto | 'other';
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
}

/** Conntrack of one node's zone: committed connections, by their original-direction tuple. */
export class Conntrack {
  private entries = new Set<string>();

  private static tuple(p: Packet, reverse: boolean): string {
    const [a, b, pa, pb] = reverse
      ? [p.dstIp, p.srcIp, p.dstPort, p.srcPort]
      : [p.srcIp, p.dstIp, p.srcPort, p.dstPort];
    return `${p.ipProto}|${a}|${pa ?? ''}|${b}|${pb ?? ''}`;
  }

  /** ICMP echo: a request opens a connection, only a reply (in reverse) belongs to it. */
  private static icmpRole(p: Packet): 'request' | 'reply' | undefined {
    if (p.ipProto !== 'icmp' && p.ipProto !== 'icmpv6') return undefined;
    return p.icmpType === 0 || p.icmpType === 129 ? 'reply' : 'request';
  }

  /** ct lookup: established when the packet belongs to a committed connection (either direction). */
  lookup(p: Packet): 'est' | 'new' {
    const role = Conntrack.icmpRole(p);
    if (role === 'request') return this.entries.has(Conntrack.tuple(p, false)) ? 'est' : 'new';
    if (role === 'reply') return this.entries.has(Conntrack.tuple(p, true)) ? 'est' : 'new';
    return this.entries.has(Conntrack.tuple(p, false)) || this.entries.has(Conntrack.tuple(p, true))
      ? 'est'
      : 'new';
  }

  commit(p: Packet): void {
    if (this.lookup(p) === 'new' && Conntrack.icmpRole(p) !== 'reply')
      this.entries.add(Conntrack.tuple(p, false));
  }

  get size(): number {
    return this.entries.size;
  }
}
