// Knobs of the compiler that change the rendered pipeline.

export interface CompileOptions {
  /** Conntrack zone shared by every device of the node (replies meet their connection in it). */
  ctZone: number;
  /** Pass every ICMP (IPv4) packet, like the iptables/nftables peers' --accept-icmp. */
  acceptIcmp: boolean;
  /** Pass every ICMPv6 packet (otherwise only neighbour discovery, types 133-137, passes untouched). */
  acceptIcmpv6: boolean;
}

export const DEFAULT_COMPILE_OPTIONS: CompileOptions = {
  ctZone: 0x4d4e, // "MN": a zone unlikely to be used by anything else on the host
  acceptIcmp: false,
  acceptIcmpv6: false,
};

/** ICMPv6 neighbour discovery: router solicitation/advertisement, neighbour solicitation/advertisement, redirect. */
export const ND_TYPES = [133, 134, 135, 136, 137] as const;
