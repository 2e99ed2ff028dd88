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
  readonly vlanEthType?: EthType;
  /** Ethertype inside the inner VLAN tag (QinQ). */
  readonly cvlanEthType?: EthType;
  readonly ctState?: CtStateMatch;
  readonly ipProto?: IpProto;
  /** CIDR, always with an explicit prefix length. */
  readonly srcIp?: string;
  readonly dstIp?: string;
  /** Inclusive destination-port range; rendered as "N" when both ends are equal. */
  readonly dstPort?: readonly [number, number];
  /** ICMP/ICMPv6 type: exact, or under icmpTypeMask. */
  readonly icmpType?: number;
  /** Bits of the type that must equal icmpType (absent: all of them). */
  readonly icmpTypeMask?: number;
}

/** A match being written (by the compiler or a parser), before it goes into a filter. */
export type MatchDraft = { -readonly [K in keyof FlowerMatch]: FlowerMatch[K] };

export type Action =
  | { readonly kind: 'pass' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'goto'; readonly chain: number }
  /** Send through conntrack (then continue with the next action). */
  | { readonly kind: 'ct'; readonly commit: boolean };

export interface Filter {
  /** Lower runs first. Filters sharing a prio also share `protocol` (a kernel rule). */
  readonly prio: number;
  readonly protocol: FilterProtocol;
  readonly match: FlowerMatch;
  readonly actions: readonly Action[];
  /** Why this filter exists, for dumps and `explain` (never sent to the kernel). */
  readonly note: string;
}

export interface Chain {
  /** Relative chain index (0 = the root). */
  readonly index: number;
  /** What this chain decides, e.g. "new connections from x/a", "ports TCP 80". */
  readonly purpose: string;
  /**
   * Readonly, as is all of the IR: filter arrays, filters and matches are shared between devices
   * and kept by the compiler for its next compile (src/tc/compile/node.ts).
   */
  readonly filters: readonly Filter[];
}

export type DeviceKind = 'vf' | 'uplink';

export interface DevicePipeline {
  /** Representor netdev name. */
  readonly device: string;
  readonly kind: DeviceKind;
  /** Networks whose traffic this device carries and the pipeline handles. */
  readonly networks: readonly string[];
  /** Managed interface keys behind this device (the VF's own interface, or those behind the uplink). */
  readonly interfaces: readonly string[];
  /** Sorted by index. Empty: the device carries nothing that needs filtering (no filters at all). */
  readonly chains: readonly Chain[];
  /** --offload=require: every filter is installed with skip_sw (hardware only). */
  readonly skipSw?: boolean;
}

export interface NodePipeline {
  readonly node: string;
  /** Sorted by device name. */
  readonly devices: readonly DevicePipeline[];
  /** Human-readable problems the compiler found (representor clashes, IP clashes). */
  readonly warnings: readonly string[];
  /** Local pod interfaces that no device filters in some direction (no representor, no uplink). */
  readonly unenforced?: readonly UnenforcedInterface[];
}

export function filterCount(d: DevicePipeline): number {
  let n = 0;
  for (const c of d.chains) n += c.filters.length;
  return n;
}
