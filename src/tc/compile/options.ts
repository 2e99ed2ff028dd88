// Knobs of the compiler that change the rendered pipeline.

export interface CompileOptions {
  /** Conntrack zone shared by every device of the node (replies meet their connection in it). */
  ctZone: number;
  /** Pass every ICMP (IPv4) packet, like the iptables/nftables peers' --accept-icmp. */
  acceptIcmp: boolean;
  /** Pass every ICMPv6 packet (otherwise only neighbour discovery, types 133-137, passes untouched). */
  acceptIcmpv6: boolean;
  /**
   * --offload: 'auto' (absent) installs filters in software and hardware, so a filter the NIC
   * rejects still enforces in software; 'require' adds skip_sw, so such a filter fails its device.
   */
  offload?: 'auto' | 'require';
  /**
   * A VF whose override section (its decisions towards the node's other pods, chain +2 stage 0)
   * has more than this many filters gets it split into one chain per address block behind a
   * dispatch (docs/tc-rule-pipeline.md section 2), so that a change rewrites one block's chain,
   * not every override. Absent: DEFAULT_OVERRIDE_BLOCK_SPLIT. 0 splits every VF with overrides.
   */
  overrideBlockSplit?: number;
  /**
   * A block chain of a split VF with more than this many override filters becomes itself a
   * dispatch per sub-block (32 addresses), whose chains hold the overrides (second dispatch
   * level, docs/tc-rule-pipeline.md section 2): a change then rewrites a bounded number of
   * filters however many pods the block holds. Absent: DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT. 0 splits
   * every block chain.
   */
  overrideSubBlockSplit?: number;
}

/** See CompileOptions.overrideBlockSplit (chosen by measurement: bench/README.md, issue 17). */
export const DEFAULT_OVERRIDE_BLOCK_SPLIT = 48;

/** See CompileOptions.overrideSubBlockSplit (chosen by measurement: bench/README.md, issue 17). */
export const DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT = 48;

export const DEFAULT_COMPILE_OPTIONS: CompileOptions = {
  ctZone: 0x4d4e, // "MN": a zone unlikely to be used by anything else on the host
  acceptIcmp: false,
  acceptIcmpv6: false,
};

/** ICMPv6 neighbour discovery: router solicitation/advertisement, neighbour solicitation/advertisement, redirect. */
export const ND_TYPES = [133, 134, 135, 136, 137] as const;

/**
 * ND_TYPES as masked matches, three filters instead of five per frame shape: 133 exactly, then
 * 134/254 (134 and 135) and 136/254 (136 and 137). No other type matches.
 */
export const ND_TYPE_MATCHES: readonly { type: number; mask?: number; note: string }[] = [
  { type: 133, note: 'router solicitation' },
  { type: 134, mask: 0xfe, note: 'router advertisement, neighbour solicitation' },
  { type: 136, mask: 0xfe, note: 'neighbour advertisement, redirect' },
];
