// Pipeline IR: what the compiler produces and the renderers, the simulator and the apply layer read.
// Chain numbers here are RELATIVE (0 = the root; see layout.ts); the apply layer numbers them, so
// that changed chains can be installed beside the live ones (make-before-break).

import type { UnenforcedInterface } from '../node/device-map.js';

/** The `protocol` of a tc filter: the outer ethertype it is attached to. */
export type FilterProtocol = 'all' | 'ip' | 'ipv6' | '802.1q' | '802.1ad';

export type EthType = 'ip' | 'ipv6' | '802.1q' | '802.1ad' | 'arp';

export type IpProto = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';

/** ct_state match, e.g. "+trk+est". Only the forms the compiler emits. */
export type CtStateMatch = '+trk+est' | '+trk+rel' | '+trk+new';

/** Flower keys. Every key is optional; an absent key matches anything. */
export interface FlowerMatch {
  /** Ethertype inside the outer VLAN tag (protocol 802.1q / 802.1ad). */
  vlanEthType?: EthType;
  /** Ethertype inside the inner VLAN tag (QinQ). */
  cvlanEthType?: EthType;
  ctState?: CtStateMatch;
  ipProto?: IpProto;
  /** CIDR, always with an explicit prefix length. */
  srcIp?: string;
  dstIp?: string;
  /** Inclusive destination-port range; rendered as "N" when both ends are equal. */
  dstPort?: [number, number];
  /** ICMP/ICMPv6 type: exact, or under icmpTypeMask. */
  icmpType?: number;
  /** Bits of the type that must equal icmpType (absent: all of them). */
  icmpTypeMask?: number;
}

export type Action =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'goto'; chain: number }
  /** Send through conntrack (then continue with the next action). */
  | { kind: 'ct'; commit: boolean };

export interface Filter {
  /** Lower runs first. Filters sharing a prio also share `protocol` (a kernel rule). */
  prio: number;
  protocol: FilterProtocol;
  match: FlowerMatch;
  actions: Action[];
  /** Why this filter exists, for dumps and `explain` (never sent to the kernel). */
  note: string;
}

export interface Chain {
  /** Relative chain index (0 = the root). */
  index: number;
  /** What this chain decides, e.g. "new connections from x/a", "ports TCP 80". */
  purpose: string;
  /**
   * Never modify a compiled pipeline: filter arrays, filters and matches are shared between
   * devices and kept by the compiler for its next compile (src/tc/compile/node.ts).
   */
  filters: Filter[];
}

export type DeviceKind = 'vf' | 'uplink';

export interface DevicePipeline {
  /** Representor netdev name. */
  device: string;
  kind: DeviceKind;
  /** Networks whose traffic this device carries and the pipeline handles. */
  networks: string[];
  /** Managed interface keys behind this device (the VF's own interface, or those behind the uplink). */
  interfaces: string[];
  /** Sorted by index. Empty: the device carries nothing that needs filtering (no filters at all). */
  chains: Chain[];
  /** --offload=require: every filter is installed with skip_sw (hardware only). */
  skipSw?: boolean;
}

export interface NodePipeline {
  node: string;
  /** Sorted by device name. */
  devices: DevicePipeline[];
  /** Human-readable problems the compiler found (representor clashes, IP clashes). */
  warnings: string[];
  /** Local pod interfaces that no device filters in some direction (no representor, no uplink). */
  unenforced?: UnenforcedInterface[];
}

export function filterCount(d: DevicePipeline): number {
  let n = 0;
  for (const c of d.chains) n += c.filters.length;
  return n;
}
