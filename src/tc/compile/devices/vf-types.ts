// What a VF representor's pipeline is compiled from (its input, and what prepareVf decides from it
// before any chain is built) and what its build keeps for the next build of the same VF.

import type { ChainFragment, PendingFilter } from '../chains/chain-set.js';
import type { EgressPart } from '../decisions/egress-part.js';
import type { Overrides } from '../decisions/overrides.js';
import type { CompileOptions } from '../options.js';
import type { CompileMemo } from '../reuse/compile-memo.js';
import type { ManagedInterface, PortSet } from '../../../policy/types.js';
import type { Chain } from '../../ir.js';
import type { Family } from '../../../util/ip/index.js';

export interface VfDeviceInput {
  kind: 'vf';
  device: string;
  iface: ManagedInterface;
  /** Other managed interfaces of this node, of every network (their ingress is checked here). */
  localPeers: ManagedInterface[];
  /**
   * Every managed interface on the network, cluster-wide: named ports resolve on them. Only their
   * key, addresses and pod are read.
   */
  networkInterfaces: readonly ManagedInterface[];
  /** Local peers that share an address with another interface of the node (computed if absent). */
  sharing?: ReadonlySet<ManagedInterface>;
  /** When `localPeers` is the last compile's peers with some replaced: which (a hint, see decisionRow). */
  peersSince?: PeersSince;
  /** What this compile remembers about model objects (owned by the caller, see reuse/compile-memo.ts). */
  memo: CompileMemo;
}

/** `localPeers` is `peers` with the interfaces at the positions `changed` replaced. */
export interface PeersSince {
  peers: readonly ManagedInterface[];
  changed: readonly number[];
}

/**
 * What a VF's pipeline is built from, decided before building it (prepareVf; not the apply
 * layer's DevicePlan): equal `deps` (compared element by element, by identity) mean equal chains,
 * so a recompile can reuse the device.
 */
export interface PreparedVf {
  input: VfDeviceInput;
  egress: Record<Family, EgressPart>;
  /** Decisions for pods of this node that differ from what the egress rules alone decide. */
  overrides: Overrides;
  deps: unknown[];
  /** What the VF's last build kept for reuse, and where to keep this build's. */
  parts: {
    previous?: VfParts;
    save?: (parts: VfParts) => void;
    /** The egress parts merged by `merge`, or as another VF with the same parts merged them (see vfTail). */
    egressRun?: (parts: EgressPart[], merge: () => ChainFragment) => ChainFragment;
  };
}

/**
 * Parts of a VF's chains that a rebuild of the same VF reuses while their inputs are the same:
 * the classify chain, the override filters per piece, and the rest of chain +2 (see vfTail).
 */
export interface VfParts {
  pod: string;
  opts: CompileOptions;
  classify: ChainFragment;
  overrideFilters: OverrideFilters;
  tail: VfTail;
  /** Chain 2 split by address block, when it was (see splitLayout). */
  split?: SplitLayout;
  /** The chains the build gave, and the numbers of its named chains (see patchedVf). */
  chains: Chain[];
  numbers: Map<string, number>;
}

/** Override filters per family, by piece in address order, per carrier (see overrideSection). */
export type OverrideFilters = Record<Family, OverrideEntry[]>;

export interface OverrideEntry {
  lo: bigint;
  hi: bigint;
  ports: string;
  /** Per carrier, one filter per CIDR of the piece. */
  filters: PendingFilter[][];
  /** Per CIDR: the first address of the block it lies in, or undefined when larger than a block. */
  blocks: (bigint | undefined)[];
  /** Per CIDR: the same for the sub-block (see SUB_BLOCK_BITS). */
  subs: (bigint | undefined)[];
}

/**
 * The rest of chain 2 of a VF: every other destination, by the egress rules of both families (one
 * fragment, sorted once and shared by the VFs rebuilt with the same egress parts), then the
 * fallback. Kept while the egress parts are the same.
 */
export interface VfTail {
  egress: EgressPart[];
  isolated: boolean;
  run?: ChainFragment;
  fallback: PendingFilter[];
}

/**
 * Consecutive override CIDRs of one family: `cidrs` of them, from CIDR `first` of the first entry
 * on (a block's or a sub-block's; compared entry by entry to reuse a chain).
 */
export interface CidrRun {
  entries: OverrideEntry[];
  first: number;
  cidrs: number;
}

/** A sub-block chain of a large block chain (the second dispatch level). */
export interface SplitLeaf extends CidrRun {
  base: bigint;
  ref: string;
  purpose: string;
  /** Its override filters (frame shape by frame shape, each in address order), then the goto to the rest chain. */
  filters: PendingFilter[];
  /** The port chains its filters go to. */
  portChains: string[];
}

/** A block chain of a split chain 2. */
export interface SplitBlock extends CidrRun {
  family: Family;
  base: bigint;
  ref: string;
  purpose: string;
  /**
   * Frame shape by frame shape, in address order: its override filters, or when it is split per
   * sub-block the inline ones and one dispatch per sub-block chain; then the goto to the rest chain.
   */
  filters: PendingFilter[];
  /** Its sub-block chains (none when it holds its overrides itself). */
  leaves: SplitLeaf[];
  /** The port chains its filters go to. */
  portChains: string[];
  /** Chain 2's filters that send the block here, one per frame shape. */
  dispatch: PendingFilter[];
}

/** A VF's chain 2 split by address block (see splitLayout). */
export interface SplitLayout {
  /** Chain 2: the overrides that stay inline, the dispatch to the block chains, the goto to the rest. */
  chain2: PendingFilter[];
  /** In address order per family (IPv4 first). */
  blocks: SplitBlock[];
  restPurpose: string;
}

/** The override filters of chain 2 of a VF, as overrideSection writes them. */
export interface OverrideSection {
  overrideFilters: OverrideFilters;
  /** In prio order: per frame shape (carrier), then family, as a stable sort by prio gives. */
  filters: PendingFilter[];
  /** The port chains they go to, by ref. */
  portChains: Map<string, { family: Family; ports: PortSet }>;
}
