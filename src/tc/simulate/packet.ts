// A packet as the simulator sees it: enough of the headers for every key the compiler emits, and
// for what conntrack reads when it has no entry for the packet.

import type { IpProto } from '../ir.js';

export type VlanTpid = '802.1q' | '802.1ad';

/**
 * Where the transport header places a packet in its connection. `open` may start one (TCP SYN,
 * SCTP INIT); `answer` answers an opener (TCP SYN-ACK, SCTP INIT-ACK); `later` is a packet of an
 * established exchange (TCP ACK or data, SCTP DATA). UDP has no such header and ICMP says it with
 * its type, so for them this field is ignored.
 */
export type Segment = 'open' | 'answer' | 'later';

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
  /** ICMP echo identifier: part of an echo's conntrack tuple. */
  icmpId?: number;
  /** Absent: `open`. */
  segment?: Segment;
}

/** What conntrack makes of a packet: `inv` is a packet it cannot place (`+trk+inv`). */
export type CtState = 'est' | 'new' | 'inv';

const ECHO_REQUEST: Record<string, number> = { icmp: 8, icmpv6: 128 };
const ECHO_REPLY: Record<string, number> = { icmp: 0, icmpv6: 129 };

/**
 * Conntrack of one node: one table per zone, each holding committed connections by their
 * original-direction tuple. The tuple has no VLAN id and no network (as in the kernel), so
 * overlapping addresses in one zone share entries.
 */
export class Conntrack {
  private zones = new Map<number, Set<string>>();

  private table(zone: number): Set<string> {
    let t = this.zones.get(zone);
    if (!t) {
      t = new Set();
      this.zones.set(zone, t);
    }
    return t;
  }

  private static tuple(p: Packet, reverse: boolean): string {
    const [a, b] = reverse ? [p.dstIp, p.srcIp] : [p.srcIp, p.dstIp];
    // An echo and its reply share the identifier, in place of ports.
    if (p.ipProto === 'icmp' || p.ipProto === 'icmpv6') return `${p.ipProto}|${a}|${b}|${p.icmpId ?? 0}`;
    const [pa, pb] = reverse ? [p.dstPort, p.srcPort] : [p.srcPort, p.dstPort];
    return `${p.ipProto}|${a}|${pa ?? ''}|${b}|${pb ?? ''}`;
  }

  /** ICMP echo: a request opens a connection, only a reply (in reverse) belongs to it. */
  private static icmpRole(p: Packet): 'request' | 'reply' | 'other' | undefined {
    if (p.ipProto !== 'icmp' && p.ipProto !== 'icmpv6') return undefined;
    if (p.icmpType === ECHO_REQUEST[p.ipProto]) return 'request';
    return p.icmpType === ECHO_REPLY[p.ipProto] ? 'reply' : 'other';
  }

  /**
   * Whether the packet may start a connection when conntrack has no entry for it. TCP and SCTP
   * only with their opening segment (a SYN-ACK, an ACK or a DATA chunk out of nowhere is
   * invalid); ICMP only an echo request (errors would be related to a connection the simulator
   * does not model, so they are invalid here: stricter than the kernel, never more lenient).
   * The kernel picks up a mid-stream TCP ACK when nf_conntrack_tcp_loose is set; the simulator
   * takes it as invalid, which only ever denies more.
   */
  private static canOpen(p: Packet): boolean {
    const role = Conntrack.icmpRole(p);
    if (role !== undefined) return role === 'request';
    if (p.ipProto === 'tcp' || p.ipProto === 'sctp') return (p.segment ?? 'open') === 'open';
    return true;
  }

  /** ct lookup in `zone`: established when the packet belongs to a committed connection. */
  lookup(p: Packet, zone: number): CtState {
    const t = this.zones.get(zone);
    const role = Conntrack.icmpRole(p);
    let known: boolean;
    if (!t) known = false;
    else if (role === 'request') known = t.has(Conntrack.tuple(p, false));
    else if (role === 'reply') known = t.has(Conntrack.tuple(p, true));
    else if (role === 'other') known = false;
    else known = t.has(Conntrack.tuple(p, false)) || t.has(Conntrack.tuple(p, true));
    if (known) return 'est';
    return Conntrack.canOpen(p) ? 'new' : 'inv';
  }

  /** ct commit in `zone`: a new connection gets an entry; anything else changes nothing. */
  commit(p: Packet, zone: number): void {
    if (this.lookup(p, zone) === 'new') this.table(zone).add(Conntrack.tuple(p, false));
  }

  /** Entries in every zone. */
  get size(): number {
    let n = 0;
    for (const t of this.zones.values()) n += t.size;
    return n;
  }
}
