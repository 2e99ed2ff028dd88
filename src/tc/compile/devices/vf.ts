// Compiles the pipeline of one representor. See docs/tc-rule-pipeline.md for the picture:
//
//   chain 0 "classify"  untouched traffic passes (ARP, neighbour discovery, non-IP); IP goes
//                       through conntrack, then to chain 1
//   chain 1 "state"     established and related packets pass; new connections go to chain 2;
//                       anything else (invalid) is dropped
//   chain 2 "new"       the policy decision for a new connection, by address; it either accepts
//                       (commit to conntrack, pass), drops, or goes to a content-named chain. A
//                       VF with many overrides gets it split: a dispatch per address block to
//                       block chains, which end in a rest chain (see splitLayout)
//   chains 3..          port chains ("which ports are allowed") and, on uplinks, per-destination
//                       source chains ("who may connect to this pod"); block and rest chains

import type { ManagedInterface, PortSet, ResolvedRule } from '../../../policy/types.js';
import { portSetEquals, portSetKey, portSetIsEmpty, resolvePorts } from '../../../policy/ports.js';
import type { Chain, FilterProtocol, FlowerMatch, IpProto } from '../../ir.js';
import { carriersOf, IP_CARRIERS, UNCLASSIFIED_TAGGED, type IpCarrier } from '../chains/encapsulation.js';
import { FALLBACK_SLOT, OVERRIDE_SLOT, prefixSlot, prioFor } from '../../layout.js';
import {
  changedAddresses,
  Memo,
  namedPortsKey,
  objectId,
  sameDecisions,
  sameIps,
  sameInputs,
  samePairInputs,
  type CompileCache,
  type DecisionRow,
} from '../reuse/compile-cache.js';
import {
  CHUNK_BITS,
  FAMILY_BITS,
  prefixRuleGroups,
  type PrefixMapState,
  type PrefixRuleGroup,
} from '../chains/prefix-rules.js';
import { addressesOf, ownersIn } from '../decisions/interface-addresses.js';
import {
  ChainSet,
  CLASSIFY_CHAIN,
  NEW_CHAIN,
  STATE_CHAIN,
  mergeByPrio,
  mergeRuns,
  pendingFilter,
  resolveWith,
  sortedResolved,
  sortFilters,
  type ChainFragment,
  type PendingAction,
  type PendingFilter,
} from '../chains/chain-set.js';
import {
  findInterval,
  formatAddress,
  intervalToCidrs,
  sortByAddress,
  normalizeIntervals,
  parseAddress,
  partition,
  type Contribution,
  type Family,
  type Interval,
  type Piece,
} from '../../../util/ip/index.js';
import {
  ALL_PORTS,
  anyNamedPorts,
  hasNamedPorts,
  NO_PORTS,
  portsForAnyPeer,
  portsForPeer,
  portSetIntersect,
  portSetUnion,
  ruleIntervals,
  rulesCover,
} from '../decisions/rule-ports.js';
import {
  DEFAULT_OVERRIDE_BLOCK_SPLIT,
  DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT,
  ND_TYPE_MATCHES,
  type CompileOptions,
} from '../options.js';
import { contentDigest } from '../../../util/content-digest.js';
import { ingressAt, ingressPieces } from '../decisions/ingress-pieces.js';
import type { CompileMemo } from '../reuse/compile-memo.js';
import { patchPieces, patchPoints } from '../reuse/patch-pieces.js';

export interface VfDeviceInput {
  kind: 'vf';
  device: string;
  iface: ManagedInterface;
  /** Other managed interfaces of this node on the same network (their ingress is checked here). */
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
  /** What this compile remembers about model objects (owned by the caller, see compile-memo.ts). */
  memo: CompileMemo;
}

/** `localPeers` is `peers` with the interfaces at the positions `changed` replaced. */
export interface PeersSince {
  peers: readonly ManagedInterface[];
  changed: readonly number[];
}

export interface UplinkDeviceInput {
  kind: 'uplink';
  device: string;
  /** Managed interfaces of this node behind this uplink, on networks that need filtering. */
  interfaces: ManagedInterface[];
  /** What this compile remembers about model objects (owned by the caller, see compile-memo.ts). */
  memo: CompileMemo;
}

const FAMILIES: Family[] = [4, 6];
const PROTO_NAME: Record<'TCP' | 'UDP' | 'SCTP', IpProto> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

const ACCEPT: PendingAction[] = [{ kind: 'ct', commit: true }, { kind: 'pass' }];
/** Accept for frame shapes conntrack cannot follow (QinQ): pass without commit. */
const ACCEPT_STATELESS: PendingAction[] = [{ kind: 'pass' }];

function accept(c: IpCarrier): PendingAction[] {
  return c.stateless ? ACCEPT_STATELESS : ACCEPT;
}

/** A decision that depends on the frame shape (stateful or not). */
type Decision = (c: IpCarrier) => PendingAction[];
const DROP: PendingAction[] = [{ kind: 'drop' }];

function filter(
  slot: number,
  protocol: FilterProtocol,
  match: FlowerMatch,
  actions: PendingAction[],
  note: string,
): PendingFilter {
  return pendingFilter(prioFor(slot, protocol), protocol, match, actions, note);
}

function onCarrier(c: IpCarrier, slot: number, match: FlowerMatch, actions: PendingAction[], note: string) {
  // Untagged frames match as they are (match objects are never changed, so they can be shared).
  // Object.assign, not a spread: V8 gives every spread copy a map of its own, which makes each
  // later read of the match (render, simulate) a slow megamorphic lookup.
  const keyed = c.keys.vlanEthType === undefined ? match : Object.assign({}, c.keys, match);
  return filter(slot, c.protocol, keyed, actions, `${note} (${c.name})`);
}

/** Chain 0: what passes untouched, what is dropped as unclassifiable, and conntrack for the rest. */
function classifyFilters(
  opts: CompileOptions,
  track: (c: IpCarrier) => { match: FlowerMatch; note: string }[],
): PendingFilter[] {
  const f: PendingFilter[] = [];
  for (const c of carriersOf(6)) {
    if (opts.acceptIcmpv6) {
      f.push(onCarrier(c, 0, { ipProto: 'icmpv6' }, [{ kind: 'pass' }], 'ICMPv6 passes (--accept-icmpv6)'));
    } else {
      for (const t of ND_TYPE_MATCHES) {
        const match: FlowerMatch = { ipProto: 'icmpv6', icmpType: t.type };
        if (t.mask !== undefined) match.icmpTypeMask = t.mask;
        f.push(onCarrier(c, 0, match, [{ kind: 'pass' }], `neighbour discovery: ${t.note}`));
      }
    }
  }
  if (opts.acceptIcmp) {
    for (const c of carriersOf(4)) {
      f.push(onCarrier(c, 0, { ipProto: 'icmp' }, [{ kind: 'pass' }], 'ICMP passes (--accept-icmp)'));
    }
  }
  for (const u of UNCLASSIFIED_TAGGED) {
    f.push(filter(1, u.protocol, u.keys, DROP, 'tag stack the pipeline does not classify'));
  }
  for (const c of IP_CARRIERS) {
    for (const t of track(c)) {
      const actions: PendingAction[] = c.stateless
        ? [{ kind: 'goto', chain: NEW_CHAIN }]
        : [
            { kind: 'ct', commit: false },
            { kind: 'goto', chain: STATE_CHAIN },
          ];
      f.push(onCarrier(c, 2, t.match, actions, c.stateless ? `${t.note}, judged without conntrack` : t.note));
    }
  }
  f.push(filter(3, 'all', {}, [{ kind: 'pass' }], 'everything else passes untouched (ARP, non-IP)'));
  return f;
}

const CLASSIFY_PURPOSE = 'classify: pass untouched traffic, send IP through conntrack';

/** Chain 1: the conntrack state decides whether the policy needs to look at the packet at all. */
function buildState(set: ChainSet): void {
  set.replay(
    STATE_FILTERS,
    set.fixedChain(STATE_CHAIN, 'state: established and related pass, new goes to policy'),
  );
}

// The same on every device: one fragment, sorted once (see ChainSet.finish).
const STATE_FILTERS: ChainFragment = { filters: stateFilters(), chains: new Map() };

function stateFilters(): PendingFilter[] {
  const f: PendingFilter[] = [];
  f.push(
    filter(0, 'all', { ctState: '+trk+est' }, [{ kind: 'pass' }], 'packet of an established connection'),
  );
  f.push(filter(1, 'all', { ctState: '+trk+rel' }, [{ kind: 'pass' }], 'packet related to a connection'));
  f.push(filter(2, 'all', { ctState: '+trk+new' }, [{ kind: 'goto', chain: NEW_CHAIN }], 'new connection'));
  f.push(filter(3, 'all', {}, DROP, 'invalid or untrackable packet'));
  return f;
}

function describePorts(ps: PortSet): string {
  if (ps.all) return 'all traffic';
  const parts: string[] = [];
  for (const p of ['TCP', 'UDP', 'SCTP'] as const) {
    for (const [a, b] of ps[p]) {
      parts.push(a === 0 && b === 65535 ? p : a === b ? `${p}/${a}` : `${p}/${a}-${b}`);
    }
  }
  return parts.join(',');
}

/**
 * Actions for "these ports are allowed": accept all, drop, or go to the port chain of this port
 * set. One port chain per family and port set serves every frame shape (QinQ rules in it accept
 * without conntrack).
 */
function decide(set: ChainSet, family: Family, ps: PortSet): Decision {
  if (ps.all) return accept;
  if (portSetIsEmpty(ps)) return dropAll;
  const ref = set.namedChain(
    portChainRef(family, ps),
    () => `ports ${describePorts(ps)} (IPv${family})`,
    () => {
      const out: PendingFilter[] = [];
      for (const c of carriersOf(family)) {
        for (const p of ['TCP', 'UDP', 'SCTP'] as const) {
          for (const [a, b] of ps[p]) {
            const match: FlowerMatch = { ipProto: PROTO_NAME[p] };
            if (!(a === 0 && b === 65535)) match.dstPort = [a, b];
            out.push(
              onCarrier(
                c,
                0,
                match,
                accept(c),
                `allow ${describePorts({ ...NO_PORTS, [p]: [[a, b]] } as PortSet)}`,
              ),
            );
          }
        }
      }
      out.push(filter(1, 'all', {}, DROP, 'no allowed port matched'));
      return out;
    },
  );
  return gotoChain(ref);
}

const dropAll: Decision = () => DROP;

function gotoChain(ref: string): Decision {
  const actions: PendingAction[] = [{ kind: 'gotoRef', ref }];
  return () => actions;
}

/** The name of the port chain of a port set (neither all nor no ports). */
function portChainRef(family: Family, ps: PortSet): string {
  return `ports/ipv${family}/${portSetKey(ps)}`;
}

/** What `decide` gives, without a ChainSet: the port chain is named, not built. */
function decisionFor(family: Family, ps: PortSet): Decision {
  if (ps.all) return accept;
  if (portSetIsEmpty(ps)) return dropAll;
  return gotoChain(portChainRef(family, ps));
}

/** Accept everything left in a chain: QinQ frames without conntrack, the rest with a commit. */
function acceptRest(out: PendingFilter[], slot: number, note: string): void {
  for (const c of IP_CARRIERS) {
    if (c.stateless) out.push(onCarrier(c, slot, {}, ACCEPT_STATELESS, note));
  }
  out.push(filter(slot, 'all', {}, ACCEPT, note));
}

/** One family's address decisions: disjoint pieces, and the fallback for every other address. */
interface AddressMap<V> {
  pieces: Piece<V>[];
  fallback: V;
  key: (v: V) => string;
  /** Actions and note of the filters that give a prefix the value `v`. */
  act: (v: V) => { actions: Decision; note: string };
}

/** Equal text, equal actions (a JSON dump of them, written for every decision of a map, cost more). */
function actionsSig(actions: PendingAction[]): string {
  // NUL ends each action: it appears in no chain name or number.
  let out = '';
  for (const a of actions) {
    if (a.kind === 'gotoRef') out += `>${a.ref}\0`;
    else if (a.kind === 'goto') out += `#${a.chain}\0`;
    else if (a.kind === 'ct') out += a.commit ? 'ct commit\0' : 'ct\0';
    else out += `${a.kind}\0`;
  }
  return out;
}

/** What an emitted address map leaves for the next version of the same map. */
export interface AddressMapState {
  prefixes: PrefixMapState;
  /** The filters written per rule group, and the decisions (`act`) they were written with. */
  filters: Map<PrefixRuleGroup, { sig: string; filters: PendingFilter[] }>;
}

/**
 * Emit the map as longest-prefix rules, one filter per frame shape and rule, a /N rule at the prio
 * of its length (longer first). Addresses the rules leave to the fallback fall through to the
 * filters in FALLBACK_SLOT, which the caller writes. The whole address space is "no address key":
 * the kernel does not match a /0 prefix the way the simulator would (measured: src_ip 0.0.0.0/0
 * matched nothing).
 *
 * With the state of the map's previous version, rule groups that did not change keep their
 * filters (the same objects) as long as their decisions render the same.
 */
function emitAddressMap<V>(
  out: PendingFilter[],
  family: Family,
  matchKey: 'srcIp' | 'dstIp',
  map: AddressMap<V>,
  previous?: AddressMapState,
): AddressMapState {
  const fallbackKey = map.key(map.fallback);
  const byKey = new Map<string, V>([[fallbackKey, map.fallback]]);
  const keyed = map.pieces.map((p) => {
    const k = map.key(p.value);
    byKey.set(k, p.value);
    return { interval: p.interval, key: k };
  });
  const { groups, state } = prefixRuleGroups(keyed, fallbackKey, family, previous?.prefixes);
  const bits = FAMILY_BITS[family];
  const carriers = carriersOf(family);
  // Decisions are looked up once per key (this also registers the port chains they go to).
  const acts = new Map<string, { actions: Decision; note: string; sig: string }>();
  const actOf = (k: string) => {
    let a = acts.get(k);
    if (!a) {
      const { actions, note } = map.act(byKey.get(k)!);
      let sig = note;
      for (const c of carriers) sig += `\n${actionsSig(actions(c))}`;
      a = { actions, note, sig };
      acts.set(k, a);
    }
    return a;
  };
  const filters: AddressMapState['filters'] = new Map();
  for (const g of groups) {
    const sig = g.keys.map((k) => actOf(k).sig).join('\n');
    let entry = previous?.filters.get(g);
    if (!entry || entry.sig !== sig) {
      const list: PendingFilter[] = [];
      const matches = g.rules.map((r): FlowerMatch => {
        if (r.len === 0) return {};
        const cidr = `${formatAddress(r.lo, family)}/${r.len}`;
        return matchKey === 'srcIp' ? { srcIp: cidr } : { dstIp: cidr };
      });
      for (const c of carriers) {
        g.rules.forEach((r, i) => {
          const a = actOf(r.key);
          list.push(onCarrier(c, prefixSlot(bits, r.len), matches[i]!, a.actions(c), a.note));
        });
      }
      entry = { sig, filters: list };
    }
    filters.set(g, entry);
    for (const f of entry.filters) out.push(f);
  }
  return { prefixes: state, filters };
}

/**
 * What a VF's pipeline is built from, computed before building it: equal `deps` (compared
 * element by element, by identity) mean equal chains, so a recompile can reuse the device.
 */
export interface VfPlan {
  input: VfDeviceInput;
  egress: Record<Family, EgressPart>;
  /** Decisions for pods of this node that differ from what the egress rules alone decide. */
  overrides: Overrides;
  deps: unknown[];
  /** What the VF's last build kept for reuse, and where to keep this build's. */
  parts: {
    previous?: VfParts;
    save?: (parts: VfParts) => void;
    /** Merged egress parts, shared by the VFs of a compile (see vfTail). */
    egressRuns?: Memo<ChainFragment>;
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
type OverrideFilters = Record<Family, OverrideEntry[]>;

interface OverrideEntry {
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

export function planVf(input: VfDeviceInput, cache?: CompileCache): VfPlan {
  const src = input.iface;
  const egress = { 4: egressPart(input, 4, cache), 6: egressPart(input, 6, cache) };
  const row = decisionRow(
    input.memo,
    src,
    input.localPeers,
    egress,
    cache?.decisionRows.get(src.key),
    input.peersSince,
  );
  cache?.decisionRows.set(src.key, row);
  // Which decisions override the egress rules: the same object as last time while every pair
  // differs from the egress rules as it did (then the VF's chains are the same).
  const sharing = input.sharing ?? sharingAddresses(input.localPeers);
  const overrides = overridesOf(row, input.localPeers, sharing, cache?.overrides.get(src.key));
  cache?.overrides.set(src.key, overrides);
  return {
    input,
    egress,
    overrides,
    deps: [src.key, src.pod, src.egress.isolated, egress[4], egress[6], overrides],
    parts: {
      previous: cache?.vfParts.get(src.key),
      save: cache && ((parts) => cache.vfParts.set(src.key, parts)),
      egressRuns: cache?.egressRuns,
    },
  };
}

/**
 * The decisions from `src` to every local peer. With the VF's previous row, a pair whose inputs
 * are the same is taken from it, and a recomputed pair that decides the same keeps the old list
 * (the same object, so that the overrides derived from it are reused too).
 */
function decisionRow(
  memo: CompileMemo,
  src: ManagedInterface,
  peers: readonly ManagedInterface[],
  egress: Record<Family, EgressPart>,
  prev?: DecisionRow,
  since?: PeersSince,
): DecisionRow {
  // The last row's peers, or those with some replaced: then only those pairs can have changed
  // while the source is the same.
  if (prev && (prev.peers === peers || since?.peers === prev.peers)) {
    return samePeersRow(memo, src, peers, egress, prev, prev.peers === peers ? [] : since!.changed);
  }
  if (prev && prev.peers.length === peers.length && peers.every((q, i) => q.key === prev.peers[i]!.key)) {
    return samePeersRow(memo, src, peers, egress, prev);
  }
  const decisions: Record<Family, Contribution<PortSet>[][]> = { 4: [], 6: [] };
  let prevIndex: Map<string, number> | undefined;
  const indexOf = (q: ManagedInterface, i: number): number => {
    if (!prev) return -1;
    if (prev.peers[i]?.key === q.key) return i;
    prevIndex ??= new Map(prev.peers.map((p, j) => [p.key, j]));
    return prevIndex.get(q.key) ?? -1;
  };
  const differences: DecisionRow['differences'] = { 4: [], 6: [] };
  peers.forEach((q, i) => {
    const j = indexOf(q, i);
    const same = j >= 0 && samePairInputs(memo, src, q, prev!.src, prev!.peers[j]!);
    for (const family of FAMILIES) {
      const old = j >= 0 ? prev!.decisions[family][j] : undefined;
      let list = old!;
      if (!same) {
        const built = pairDecisions(memo, src, q, family, egress[family]);
        if (!old || !sameDecisions(old, built)) list = built;
      }
      decisions[family].push(list);
      // What differs from the egress part: kept with a kept list and part.
      const kept = list === old && egress[family] === prev!.egress[family];
      differences[family].push(kept ? prev!.differences[family][j]! : pairOverrides(list, egress[family]));
    }
  });
  // Lists equal element by element keep the old array, so that what depends on them is reused.
  for (const family of FAMILIES) {
    const before = prev?.decisions[family];
    if (before && sameInputs(before, decisions[family])) decisions[family] = before;
    const last = prev?.differences[family];
    if (last && sameDifferences(last, differences[family])) differences[family] = last;
  }
  return { src, peers, egress, decisions, differences };
}

function sameDifferences(a: readonly PairOverrides[], b: readonly PairOverrides[]): boolean {
  return a.length === b.length && a.every((x, i) => x.signature === b[i]!.signature);
}

/** A VF's decisions for the pods of its node that differ from its egress rules, per family. */
export interface Overrides {
  /** Per family, in address order. */
  overrides: Record<Family, Contribution<PortSet>[]>;
  /** The same as pieces, once a build asked for them (see overridePieces). */
  pieces: Partial<Record<Family, Piece<PortSet>[]>>;
  /** What they were derived from (see overridesOf). */
  differences: DecisionRow['differences'];
  sharingKey: string;
  decisions: DecisionRow['decisions'];
  egress: DecisionRow['egress'];
}

/**
 * decisionRow when the peers are those of the last row, in the same order (the usual case): only
 * the pairs whose inputs changed are decided again, and the lists are copied only when one of
 * them decides differently.
 */
function samePeersRow(
  memo: CompileMemo,
  src: ManagedInterface,
  peers: readonly ManagedInterface[],
  egress: Record<Family, EgressPart>,
  prev: DecisionRow,
  replaced?: readonly number[],
): DecisionRow {
  const decisions = { 4: prev.decisions[4], 6: prev.decisions[6] };
  const differences = { 4: prev.differences[4], 6: prev.differences[6] };
  const sameSrc = src === prev.src;
  const newPart = { 4: egress[4] !== prev.egress[4], 6: egress[6] !== prev.egress[6] };
  // Without named ports a part is a function of the rules, so a new part decides differently only
  // where the rules changed, and a pair there is not skipped below (samePairInputs reads the
  // rules at the peer's addresses): the skipped pairs differ from the new part as from the old.
  const byRules =
    (newPart[4] || newPart[6]) &&
    !anyNamedPorts(memo, src.egress.rules) &&
    !anyNamedPorts(memo, prev.src.egress.rules);
  // With the same source, only replaced peers can decide differently.
  const few = sameSrc && replaced !== undefined;
  const count = few ? replaced.length : peers.length;
  for (let k = 0; k < count; k++) {
    const i = few ? replaced[k]! : k;
    const q = peers[i]!;
    const r = prev.peers[i]!;
    if ((sameSrc && q === r) || samePairInputs(memo, src, q, prev.src, r)) continue;
    for (const family of FAMILIES) {
      const old = prev.decisions[family][i]!;
      const built = pairDecisions(memo, src, q, family, egress[family]);
      const same = sameDecisions(old, built);
      if (!same) {
        if (decisions[family] === prev.decisions[family]) decisions[family] = [...prev.decisions[family]];
        decisions[family][i] = built;
      }
      if (newPart[family] ? !byRules : same) continue; // unchanged, or every pair is compared below
      const d = pairOverrides(decisions[family][i]!, egress[family]);
      if (d.signature === differences[family][i]!.signature) continue;
      if (differences[family] === prev.differences[family])
        differences[family] = [...prev.differences[family]];
      differences[family][i] = d;
    }
  }
  // A new part with named ports can differ from the old one anywhere.
  for (const family of FAMILIES) {
    if (!newPart[family] || byRules) continue;
    const all = decisions[family].map((list) => pairOverrides(list, egress[family]));
    if (!sameDifferences(prev.differences[family], all)) differences[family] = all;
  }
  return { src, peers, egress, decisions, differences };
}

/** Interfaces that share an address with another interface of the list. */
export function sharingAddresses(ifaces: readonly ManagedInterface[]): Set<ManagedInterface> {
  const seen = new Map<string, ManagedInterface>();
  const out = new Set<ManagedInterface>();
  for (const q of ifaces) {
    for (const family of FAMILIES) {
      for (const v of addressesOf(q, family)) {
        const k = `${family}/${v}`;
        const p = seen.get(k);
        if (p && p !== q) out.add(p).add(q);
        else seen.set(k, q);
      }
    }
  }
  return out;
}

/** One destination's decisions that differ from the egress rules alone. */
export interface PairOverrides {
  entries: Contribution<PortSet>[];
  /** The entries' addresses and port sets as text: equal signatures, equal entries. */
  signature: string;
}

const NO_DIFFERENCES: PairOverrides = { entries: [], signature: '' };

function pairOverrides(list: Contribution<PortSet>[], egress: EgressPart): PairOverrides {
  let out: PairOverrides | undefined;
  for (const d of list) {
    const v = d.intervals[0]![0];
    const key = portSetKey(d.value);
    if (key === portSetKey(egress.valueAt(v))) continue;
    out ??= { entries: [], signature: '' };
    out.entries.push(d);
    out.signature += `${v}:${key},`;
  }
  return out ?? NO_DIFFERENCES;
}

/**
 * The overrides of a VF's row: the previous object while no pair differs otherwise from the
 * egress rules (and no two peers share an address, where the decisions themselves are read).
 */
function overridesOf(
  row: DecisionRow,
  peers: readonly ManagedInterface[],
  sharing: ReadonlySet<ManagedInterface>,
  prev: Overrides | undefined,
): Overrides {
  const sharingKey = sharing.size === 0 ? '' : [...sharing].map((q) => q.key).join(',');
  if (
    prev &&
    prev.sharingKey === sharingKey &&
    FAMILIES.every(
      (f) =>
        prev.differences[f] === row.differences[f] &&
        (sharing.size === 0 || (prev.decisions[f] === row.decisions[f] && prev.egress[f] === row.egress[f])),
    )
  ) {
    return prev;
  }
  const overrides: Record<Family, Contribution<PortSet>[]> = { 4: [], 6: [] };
  for (const family of FAMILIES) {
    const egress = row.egress[family];
    // Without shared addresses, the last overrides with the entries of the pairs that changed
    // taken out and put in (kept in address order, so that nothing is sorted again).
    const last = sharing.size === 0 && prev?.sharingKey === '' ? prev : undefined;
    const before = last?.differences[family];
    const now = row.differences[family];
    if (last && before === now) {
      overrides[family] = last.overrides[family];
      continue;
    }
    if (last && before && before.length === now.length) {
      const gone = new Set<Contribution<PortSet>>();
      const come: Contribution<PortSet>[] = [];
      for (let i = 0; i < now.length; i++) {
        if (now[i] === before[i]) continue;
        for (const d of before[i]!.entries) gone.add(d);
        for (const d of now[i]!.entries) come.push(d);
      }
      const list = last.overrides[family].filter((d) => !gone.has(d));
      for (const d of come) list.splice(upperBound(list, d.intervals[0]![0]), 0, d);
      overrides[family] = list;
      continue;
    }
    // Two pods of the node with one address (the model warns; the address belongs to one of
    // them) get what both allow: never more than the pod that owns it.
    const byAddress = new Map<bigint, PortSet>();
    row.decisions[family].forEach((list, i) => {
      if (!sharing.has(peers[i]!)) {
        for (const d of row.differences[family][i]!.entries) overrides[family].push(d);
        return;
      }
      for (const d of list) {
        const v = d.intervals[0]![0];
        const prev = byAddress.get(v);
        byAddress.set(v, prev === undefined ? d.value : portSetIntersect(prev, d.value));
      }
    });
    for (const [v, value] of byAddress) {
      if (portSetKey(value) === portSetKey(egress.valueAt(v))) continue;
      overrides[family].push({ intervals: [[v, v]], value });
    }
    overrides[family] = sortPoints(overrides[family]);
  }
  return {
    overrides,
    pieces: {},
    differences: row.differences,
    sharingKey,
    decisions: row.decisions,
    egress: row.egress,
  };
}

/** An address map whose decisions are port sets (nothing allowed outside the pieces). */
function emitPortMap(
  set: ChainSet,
  out: PendingFilter[],
  family: Family,
  matchKey: 'srcIp' | 'dstIp',
  pieces: Piece<PortSet>[],
  note: (ps: PortSet) => string,
  previous: AddressMapState | undefined,
): AddressMapState {
  return emitAddressMap(
    out,
    family,
    matchKey,
    {
      pieces,
      fallback: NO_PORTS,
      key: portSetKey,
      act: (ps) => ({ actions: decide(set, family, ps), note: note(ps) }),
    },
    previous,
  );
}

/**
 * The first part of chain 2 of a VF representor (new connections sent by the VF's pod): pods of
 * this node whose ingress is isolated, where that changes the decision. Both the egress of the
 * source and the ingress of the destination apply, and both are known at compile time because the
 * source is this VF. These exact overrides come before every prefix (OVERRIDE_SLOT); what they do
 * not cover falls through to the egress rules (see vfTail). `last` is what the VF's previous
 * build kept (for the same pod and options): the filters of its pieces that stay are reused.
 */
function overrideSection(
  plan: VfPlan,
  last: VfParts | undefined,
): {
  overrideFilters: OverrideFilters;
  /** In prio order: per frame shape (carrier), then family, as a stable sort by prio gives. */
  filters: PendingFilter[];
  /** The port chains they go to, by ref. */
  portChains: Map<string, { family: Family; ports: PortSet }>;
} {
  const src = plan.input.iface;
  const overrideFilters: OverrideFilters = { 4: [], 6: [] };
  const portChains = new Map<string, { family: Family; ports: PortSet }>();
  const byCarrier: PendingFilter[][][] = [];
  for (const family of FAMILIES) {
    // The last build's pieces are in address order too: walk them alongside (BigInt map keys
    // would be hashed on every lookup).
    const before = last?.overrideFilters[family] ?? [];
    let b = 0;
    const portSets = new Map<string, PortSet>();
    for (const p of overridePieces(plan.overrides, family)) {
      const [lo, hi] = p.interval;
      const ports = portSetKey(p.value);
      while (b < before.length && before[b]!.lo < lo) b++;
      let entry: OverrideFilters[Family][number] | undefined;
      for (let k = b; k < before.length && before[k]!.lo === lo; k++) {
        if (before[k]!.hi === hi && before[k]!.ports === ports) entry = before[k];
      }
      if (!entry) {
        const actions = decisionFor(family, p.value);
        const note = `new connection from ${src.pod} to a pod of this node: ${describeAllowed(p.value)} (its egress and the destination's ingress)`;
        const cidrs = intervalToCidrs(p.interval, family);
        const filters = carriersOf(family).map((c) =>
          cidrs.map((cidr) => onCarrier(c, OVERRIDE_SLOT, { dstIp: cidr }, actions(c), note)),
        );
        // A piece inside one sub-block (the usual case: one pod address) needs no CIDR parsed.
        let blocks: (bigint | undefined)[];
        let subs: (bigint | undefined)[];
        const sub = lo >> SUB_BLOCK_SHIFT;
        if (sub === hi >> SUB_BLOCK_SHIFT) {
          const blockBase = (lo >> BLOCK_SHIFT) << BLOCK_SHIFT;
          const subBase = sub << SUB_BLOCK_SHIFT;
          blocks = cidrs.map(() => blockBase);
          subs = cidrs.map(() => subBase);
        } else {
          // The CIDRs cover the piece in order: each starts where the last ended.
          blocks = [];
          subs = [];
          let at = lo;
          for (const cidr of cidrs) {
            const end =
              at + (1n << BigInt(FAMILY_BITS[family] - Number(cidr.slice(cidr.lastIndexOf('/') + 1)))) - 1n;
            blocks.push(unitOf(at, end, BLOCK_SHIFT));
            subs.push(unitOf(at, end, SUB_BLOCK_SHIFT));
            at = end + 1n;
          }
        }
        entry = { lo, hi, ports, filters, blocks, subs };
      }
      if (!portSets.has(ports)) portSets.set(ports, p.value);
      overrideFilters[family].push(entry);
      const fi = family === 4 ? 0 : 1;
      for (let ci = 0; ci < entry.filters.length; ci++) {
        const into = (byCarrier[ci] ??= [[], []])[fi]!;
        for (const f of entry.filters[ci]!) into.push(f);
      }
    }
    for (const ps of portSets.values()) {
      if (!ps.all && !portSetIsEmpty(ps)) portChains.set(portChainRef(family, ps), { family, ports: ps });
    }
  }
  const filters: PendingFilter[] = [];
  for (const families of byCarrier) for (const list of families) for (const f of list) filters.push(f);
  return { overrideFilters, filters, portChains };
}

/** Address bits of a block (an IPv4 /24, an IPv6 /120): the blocks of prefix-rules' CHUNK_BITS. */
const BLOCK_BITS = CHUNK_BITS;

const BLOCK_SHIFT = BigInt(BLOCK_BITS);

/**
 * Address bits of a sub-block, the second dispatch level of a large block chain (32 addresses:
 * an IPv4 /27, an IPv6 /123; chosen by measurement, bench/README.md, issue 17).
 */
const SUB_BLOCK_BITS = 5;

const SUB_BLOCK_SHIFT = BigInt(SUB_BLOCK_BITS);

/** The first address of the unit (block or sub-block) that holds [lo, hi], or undefined when it spans more. */
function unitOf(lo: bigint, hi: bigint, shift: bigint): bigint | undefined {
  return lo >> shift === hi >> shift ? (lo >> shift) << shift : undefined;
}

/** Ref of the rest of a split chain 2 (the egress prefixes and the fallback). */
const REST_REF = 'new/rest';

/**
 * Ref of a block chain: by position (family and block), not by content, so that chains keep
 * their relative numbers while the occupied blocks stay. Refs sort as numbers do: address order,
 * and every block chain before the rest chain and the port chains ("new/b" < "new/r" < "ports"),
 * so that their gotos go forward.
 */
function blockRef(family: Family, base: bigint): string {
  return `new/block/ipv${family}/${base.toString(16).padStart(FAMILY_BITS[family] / 4, '0')}`;
}

/**
 * Ref of a sub-block's chain: its block's ref and its own first address, so that it sorts right
 * after its block chain (a longer string with the same start) and before the next block's.
 */
function subBlockRef(family: Family, block: bigint, base: bigint): string {
  return `${blockRef(family, block)}/${base.toString(16).padStart(FAMILY_BITS[family] / 4, '0')}`;
}

/**
 * Consecutive override CIDRs of one family: `cidrs` of them, from CIDR `first` of the first entry
 * on (a block's or a sub-block's; compared entry by entry to reuse a chain).
 */
interface CidrRun {
  entries: OverrideEntry[];
  first: number;
  cidrs: number;
}

function forEachCidr(run: CidrRun, visit: (e: OverrideEntry, k: number) => void): void {
  let left = run.cidrs;
  run.entries.forEach((e, i) => {
    for (let k = i === 0 ? run.first : 0; k < e.blocks.length && left > 0; k++, left--) visit(e, k);
  });
}

function sameRun(a: CidrRun, b: CidrRun): boolean {
  return (
    a.first === b.first &&
    a.cidrs === b.cidrs &&
    a.entries.length === b.entries.length &&
    a.entries.every((e, i) => b.entries[i] === e)
  );
}

/**
 * Walks the CIDRs of `run` in address order and groups them by the unit (block or sub-block) they
 * lie in. A CIDR larger than a unit covers whole units, so the CIDRs of one unit come one after
 * the other. (Plain loops: this runs over every override of every rebuilt split VF.)
 */
function groupByUnit(
  run: CidrRun,
  unit: 'blocks' | 'subs',
  large: (e: OverrideEntry, k: number) => void,
  group: (base: bigint, run: CidrRun) => void,
): void {
  let g: (CidrRun & { base: bigint }) | undefined;
  let left = run.cidrs;
  for (let i = 0; i < run.entries.length && left > 0; i++) {
    const e = run.entries[i]!;
    const units = e[unit];
    for (let k = i === 0 ? run.first : 0; k < units.length && left > 0; k++, left--) {
      const base = units[k];
      if (base !== undefined && g !== undefined && g.base === base) {
        if (g.entries[g.entries.length - 1] !== e) g.entries.push(e);
        g.cidrs++;
        continue;
      }
      if (g !== undefined) group(g.base, g);
      g = undefined;
      if (base === undefined) large(e, k);
      else g = { base, entries: [e], first: k, cidrs: 1 };
    }
  }
  if (g !== undefined) group(g.base, g);
}

/** A sub-block chain of a large block chain (the second dispatch level). */
interface SplitLeaf extends CidrRun {
  base: bigint;
  ref: string;
  purpose: string;
  /** Its override filters (frame shape by frame shape, each in address order), then the goto to the rest chain. */
  filters: PendingFilter[];
  /** The port chains its filters go to. */
  portChains: string[];
}

/** A block chain of a split chain 2. */
interface SplitBlock extends CidrRun {
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

/**
 * Chain 2 of a VF with its overrides split by address block: the overrides that stay inline and
 * one dispatch per block and frame shape at OVERRIDE_SLOT (disjoint prefixes), then a goto to the
 * rest chain, which holds the egress prefixes and the fallback (content-stable while the egress
 * rules stay). Each block chain holds its overrides and ends with a goto to the rest chain too
 * (never back to chain 2, whose dispatch would match again). Inline stay the CIDRs larger than a
 * block, and a block of a single CIDR (one filter per frame shape, no more than its dispatch).
 * A block chain with more than `subSplit` override filters is itself split the same way, per
 * sub-block (SUB_BLOCK_BITS): then a change rewrites one sub-block's chain and a block chain of at
 * most one filter per sub-block and frame shape, however many pods the block holds.
 * `last` is the layout of the VF's last build (same pod and options): a block or sub-block whose
 * filters are the same objects is taken from it whole.
 */
function splitLayout(
  pod: string,
  section: ReturnType<typeof overrideSection>,
  last: SplitLayout | undefined,
  subSplit: number,
): SplitLayout {
  const toRest: PendingAction[] = [{ kind: 'gotoRef', ref: REST_REF }];
  const restFallback =
    last?.chain2.at(-1) ?? filter(FALLBACK_SLOT, 'all', {}, toRest, 'any other destination: egress rules');
  const noDecision = () =>
    filter(FALLBACK_SLOT, 'all', {}, toRest, 'no decision for this pod here: egress rules');
  const inline: PendingFilter[] = [];
  const blocks: SplitBlock[] = [];
  let b = 0;
  const before = last?.blocks ?? [];
  for (const family of FAMILIES) {
    const carriers = carriersOf(family);
    const cidrOf = (base: bigint, bits: number) =>
      `${formatAddress(base, family)}/${FAMILY_BITS[family] - bits}`;
    const portsOf = (run: CidrRun) =>
      [...new Set(run.entries.map((e) => `ports/ipv${family}/${e.ports}`))].filter((r) =>
        section.portChains.has(r),
      );
    // Frame shape by frame shape, each in address order.
    const runFilters = (run: CidrRun, out: PendingFilter[]) => {
      for (let ci = 0; ci < carriers.length; ci++) forEachCidr(run, (e, k) => out.push(e.filters[ci]![k]!));
    };
    const dispatchTo = (ref: string, cidr: string) =>
      carriers.map((c) =>
        onCarrier(
          c,
          OVERRIDE_SLOT,
          { dstIp: cidr },
          [{ kind: 'gotoRef', ref }],
          `pods of this node in ${cidr}`,
        ),
      );
    // A block chain split per sub-block: per frame shape its inline CIDRs (larger than a
    // sub-block, or alone in theirs) and the dispatch to its sub-block chains, in address order.
    const subSplitBlock = (base: bigint, run: CidrRun, old: SplitBlock | undefined) => {
      const perCarrier: PendingFilter[][] = carriers.map(() => []);
      const leaves: SplitLeaf[] = [];
      const oldLeaves = old?.leaves ?? [];
      let l = 0;
      groupByUnit(
        run,
        'subs',
        (e, k) => carriers.forEach((_, ci) => perCarrier[ci]!.push(e.filters[ci]![k]!)),
        (sub, r) => {
          if (r.cidrs === 1) {
            forEachCidr(r, (e, k) => carriers.forEach((_, ci) => perCarrier[ci]!.push(e.filters[ci]![k]!)));
            return;
          }
          const ref = subBlockRef(family, base, sub);
          while (l < oldLeaves.length && oldLeaves[l]!.base < sub) l++;
          const was = oldLeaves[l];
          let leaf: SplitLeaf;
          if (was && was.base === sub && sameRun(was, r)) {
            leaf = was;
          } else {
            const filters: PendingFilter[] = [];
            runFilters(r, filters);
            filters.push(noDecision());
            const cidr = cidrOf(sub, SUB_BLOCK_BITS);
            leaf = {
              ...r,
              base: sub,
              ref,
              purpose: `new connections from ${pod} to pods of this node in sub-block ${cidr}`,
              filters,
              portChains: portsOf(r),
            };
          }
          leaves.push(leaf);
          dispatchTo(ref, cidrOf(sub, SUB_BLOCK_BITS)).forEach((f, ci) => perCarrier[ci]!.push(f));
        },
      );
      const filters = perCarrier.flat();
      return { filters, leaves };
    };
    const large: PendingFilter[][] = carriers.map(() => []);
    const entries = section.overrideFilters[family];
    groupByUnit(
      { entries, first: 0, cidrs: Infinity },
      'blocks',
      (e, k) => carriers.forEach((_, ci) => large[ci]!.push(e.filters[ci]![k]!)),
      (base, run) => {
        if (run.cidrs === 1) {
          const e = run.entries[0]!;
          for (let ci = 0; ci < carriers.length; ci++) inline.push(e.filters[ci]![run.first]!);
          return;
        }
        while (
          b < before.length &&
          (before[b]!.family < family || (before[b]!.family === family && before[b]!.base < base))
        )
          b++;
        const was = before[b];
        const old = was && was.family === family && was.base === base ? was : undefined;
        if (old && sameRun(old, run)) {
          blocks.push(old);
          return;
        }
        let filters: PendingFilter[] = [];
        let leaves: SplitLeaf[] = [];
        if (run.cidrs * carriers.length > subSplit) ({ filters, leaves } = subSplitBlock(base, run, old));
        else runFilters(run, filters);
        filters.push(noDecision());
        const cidr = cidrOf(base, BLOCK_BITS);
        const ref = blockRef(family, base);
        blocks.push({
          ...run,
          family,
          base,
          ref,
          purpose: `new connections from ${pod} to pods of this node in ${cidr}`,
          filters,
          leaves,
          portChains: portsOf(run),
          dispatch: dispatchTo(ref, cidr),
        });
      },
    );
    for (const list of large) for (const f of list) inline.push(f);
  }
  const chain2 = inline;
  for (const block of blocks) for (const f of block.dispatch) chain2.push(f);
  chain2.push(restFallback);
  return {
    chain2,
    blocks,
    restPurpose: `new connections from ${pod} to any other destination: its egress rules`,
  };
}

/** The chains of a split chain 2 into `set`, its filters into `out` (the fixed chain 2). */
function buildSplitNew(
  set: ChainSet,
  out: PendingFilter[],
  layout: SplitLayout,
  section: ReturnType<typeof overrideSection>,
  tail: VfTail,
): void {
  set.namedChain(
    REST_REF,
    () => layout.restPurpose,
    () => {
      const filters: PendingFilter[] = [];
      if (tail.run) set.replay(tail.run, filters);
      for (const f of tail.fallback) filters.push(f);
      return filters;
    },
  );
  // Named here so that a block or sub-block chain lists the chains it jumps to.
  const portChains = (refs: string[]) => {
    for (const r of refs) {
      const pc = section.portChains.get(r)!;
      decide(set, pc.family, pc.ports);
    }
  };
  for (const b of layout.blocks) {
    set.namedChain(
      b.ref,
      () => b.purpose,
      () => {
        for (const l of b.leaves) {
          set.namedChain(
            l.ref,
            () => l.purpose,
            () => {
              portChains(l.portChains);
              return l.filters;
            },
          );
        }
        portChains(b.portChains);
        return b.filters;
      },
    );
  }
  for (const f of layout.chain2) out.push(f);
}

/**
 * The rest of chain 2 of a VF: every other destination, by the egress rules of both families (one
 * fragment, sorted once and shared by the VFs rebuilt with the same egress parts), then the
 * fallback. Kept while the egress parts are the same.
 */
interface VfTail {
  egress: EgressPart[];
  isolated: boolean;
  run?: ChainFragment;
  fallback: PendingFilter[];
}

function vfTail(plan: VfPlan, last: VfParts | undefined): VfTail {
  const src = plan.input.iface;
  const egress = FAMILIES.map((f) => plan.egress[f]);
  const isolated = src.egress.isolated;
  const tail = last?.tail;
  if (tail && tail.isolated === isolated && sameInputs(tail.egress, egress)) return tail;
  const parts = egress.filter((p) => p.fragment);
  const merge = () => egressRun(parts);
  const runs = plan.parts.egressRuns;
  const run =
    parts.length === 0 ? undefined : runs ? runs.get(parts.map(objectId).join('/'), parts, merge) : merge();
  const fallback: PendingFilter[] = [];
  if (isolated) {
    fallback.push(
      filter(FALLBACK_SLOT, 'all', {}, DROP, `egress of ${src.pod} is isolated and no rule allows this`),
    );
  } else {
    acceptRest(fallback, FALLBACK_SLOT, `egress of ${src.pod} is not isolated`);
  }
  return { egress, isolated, run, fallback };
}

/** The egress parts' filters (each sorted, see buildEgressPart) merged as a stable sort would. */
function egressRun(parts: EgressPart[]): ChainFragment {
  let filters: PendingFilter[] = [];
  const chains: ChainFragment['chains'] = new Map();
  for (const part of parts) {
    filters = mergeByPrio(filters, part.fragment!.filters);
    for (const [ref, c] of part.fragment!.chains) chains.set(ref, c);
  }
  return { filters, chains };
}

/** Single-address decisions in address order. */
function sortPoints<V>(points: Contribution<V>[]): Contribution<V>[] {
  return sortByAddress(points, (c) => c.intervals[0]![0]);
}

/** Where `v` goes in address-sorted single-address decisions: after those at `v` or below. */
function upperBound(list: Contribution<PortSet>[], v: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.intervals[0]![0] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A family's overrides as pieces, computed once per Overrides object. */
function overridePieces(o: Overrides, family: Family): Piece<PortSet>[] {
  return (o.pieces[family] ??= pointPieces(o.overrides[family]));
}

/**
 * Single-address decisions (in address order) as pieces: what `partition` gives for them
 * (neighbouring addresses with equal ports merged, one address listed twice gets the union),
 * without its sweep.
 */
function pointPieces(sorted: Contribution<PortSet>[]): Piece<PortSet>[] {
  const out: Piece<PortSet>[] = [];
  let last: Piece<PortSet> | undefined;
  for (let i = 0; i < sorted.length;) {
    // An address listed more than once gets what all its entries allow.
    const at = sorted[i]!.intervals[0]![0];
    let value = sorted[i++]!.value;
    while (i < sorted.length && sorted[i]!.intervals[0]![0] === at)
      value = portSetUnion(value, sorted[i++]!.value);
    if (last && last.interval[1] + 1n === at && portSetEquals(last.value, value)) last.interval[1] = at;
    else out.push((last = { interval: [at, at], value }));
  }
  return out;
}

export interface EgressPart {
  /** The filters and port chains of the egress rules (none when egress is not isolated). */
  fragment?: ChainFragment;
  /** The ports the egress rules allow to one address. */
  valueAt: (addr: bigint) => PortSet;
  /** The pieces the part was written from (isolated egress only), for patching the next version. */
  pieces?: Piece<PortSet>[];
  /** The address map, for building the next version of this part. */
  map?: AddressMapState;
  /** The name of its pieces in the compile cache (see egressPart). */
  content?: string;
}

/** Egress that is not isolated allows everything and writes no filters (one object, so it never differs). */
const UNISOLATED_EGRESS: EgressPart = { valueAt: () => ALL_PORTS };

/**
 * The egress rules of a VF's pod as a fragment of chain +2 (with its port chains), built in a set
 * of its own so that it can be cached and replayed into the device's set. The fragment depends
 * only on the rules (not on the pod), so VFs whose pods have equal egress rules share it.
 */
function egressPart(input: VfDeviceInput, family: Family, cache: CompileCache | undefined): EgressPart {
  const src = input.iface;
  if (!src.egress.isolated) return UNISOLATED_EGRESS;
  const memo = input.memo;
  const rules = src.egress.rules;
  // Named ports resolve on the pods of the network: then their list matters too (NodeCompiler
  // keeps it as the same array while no pod on the network changes).
  const namedOf = () => (anyNamedPorts(memo, rules) ? input.networkInterfaces : undefined);
  if (!cache) return buildEgressPart(family, egressPieces(memo, rules, family, namedOf()));
  const last = `${src.key}/ipv${family}`;
  const prev = cache.lastEgress.get(last);
  // The same rule list (the usual case): the same part, while the network's pods are the same
  // too when the rules have named ports.
  if (prev && prev.rules === rules && (!prev.named || prev.named === input.networkInterfaces))
    return prev.part;
  const named = namedOf();
  // The VF's last part also stays when its rules were replaced by rules that differ only at
  // addresses where the part decides the same (see decidesSameAt).
  if (
    prev &&
    prev.named === named &&
    (sameInputs(prev.rules, rules) || (!named && decidesSameAt(memo, prev.part, prev.rules, rules, family)))
  ) {
    cache.lastEgress.set(last, { rules, named, part: prev.part });
    return prev.part;
  }
  // Otherwise: the pieces per set of rule objects, then the part per content, so that new rule
  // objects that decide the same keep the part (and VFs with equal rules share it).
  // Rules an update replaced at a few addresses take the last pieces with those addresses
  // decided again (see patchPieces); other rules are partitioned from scratch.
  const name = `ipv${family}/${rules.map(objectId).join(',')}${named ? `/${objectId(named)}` : ''}`;
  const sources = cache.egressSources.get(name, [...rules, named], () => {
    const at = prev && !named && !prev.named ? changedAddresses(memo, rules, prev.rules) : undefined;
    if (at && prev!.part.content) {
      // Patched pieces are named by what they were patched from and the patch: that names them
      // exactly too, without printing every piece (the same content reached another way is
      // built once more, which costs time, never a difference).
      // What the rules decide at the changed addresses: a gap where no rule covers one.
      const points = patchPoints(at, family, (v) =>
        rulesCover(memo, rules, family, v)
          ? portsForPeer(memo, rules as ResolvedRule[], family, v, undefined)
          : undefined,
      );
      const patch = points.map((p) => `${p.at}:${p.value ? portSetKey(p.value) : '-'}`).join(';');
      return {
        pieces: patchPieces(prev!.part.pieces!, points),
        content: `egress/ipv${family}/${contentDigest(`${prev!.part.content}+${patch}`)}`,
      };
    }
    const pieces = egressPieces(memo, rules, family, named);
    return { pieces, content: `egress/ipv${family}/${contentDigest(piecesKey(pieces))}` };
  });
  const part = cache.egressParts.get(sources.content, [], () =>
    buildEgressPart(family, sources.pieces, sources.content, prev?.part.map),
  );
  cache.lastEgress.set(last, { rules, named, part });
  return part;
}

function buildEgressPart(
  family: Family,
  pieces: Piece<PortSet>[],
  content?: string,
  previous?: AddressMapState,
): EgressPart {
  const set = new ChainSet();
  let map: AddressMapState | undefined;
  const fragment = set.capture((frag) => {
    map = emitPortMap(
      set,
      frag,
      family,
      'dstIp',
      pieces,
      (ps) => `new connection: ${describeAllowed(ps)} to these destinations (the pod's egress rules)`,
      previous,
    );
  });
  // Sorted by prio once here: the VFs with this part merge it into their chain +2 (see vfTail).
  fragment.filters = sortFilters(fragment.filters);
  return {
    fragment,
    valueAt: (addr) => pieces[findInterval(pieces, addr, (p) => p.interval)]?.value ?? NO_PORTS,
    pieces,
    map,
    content,
  };
}

/** The last egress part of a VF and the rules it was built for (see egressPart). */
export interface LastEgress {
  rules: readonly ResolvedRule[];
  named: readonly ManagedInterface[] | undefined;
  part: EgressPart;
}

/**
 * Whether `part`, built for `old`, decides as `rules` would: every rule is the old one or
 * replaced it with changes at some addresses (the update's ModelDelta), and at those addresses
 * the new rules allow the same ports as the part. Rules without named ports only.
 */
function decidesSameAt(
  memo: CompileMemo,
  part: EgressPart,
  old: readonly ResolvedRule[],
  rules: readonly ResolvedRule[],
  family: Family,
): boolean {
  const at = changedAddresses(memo, rules, old);
  if (!at) return false;
  for (const ip of at) {
    const a = parseAddress(ip);
    if (!a || a.family !== family) continue;
    const now = portsForPeer(memo, rules as ResolvedRule[], family, a.value, undefined);
    if (portSetKey(now) !== portSetKey(part.valueAt(a.value))) return false;
    // The same coverage too, so that the part's pieces stay exactly what partition gives for
    // `rules` (patchPieces starts from them).
    const inPart = findInterval(part.pieces ?? [], a.value, (p) => p.interval) >= 0;
    if (inPart !== rulesCover(memo, rules, family, a.value)) return false;
  }
  return true;
}

function piecesKey(pieces: Piece<PortSet>[]): string {
  return pieces.map((p) => `${p.interval[0]}-${p.interval[1]}:${portSetKey(p.value)}`).join(';');
}

function describeAllowed(ps: PortSet): string {
  return portSetIsEmpty(ps) ? 'nothing allowed' : `${describePorts(ps)} allowed`;
}

/**
 * What `src` may open to the pod interface `q` of the same node, per address of `q`. `egress` is
 * src's egress part of the family: without named ports its pieces give what the egress rules
 * allow to an address (with named ports, those resolve on `q` itself, so the rules are read).
 */
function pairDecisions(
  memo: CompileMemo,
  src: ManagedInterface,
  q: ManagedInterface,
  family: Family,
  egress: EgressPart,
): Contribution<PortSet>[] {
  const dstAddrs = addressesOf(q, family);
  if (!q.ingress.isolated || dstAddrs.length === 0) return [];
  const srcAddrs = addressesOf(src, family);
  let ingress: PortSet;
  if (srcAddrs.length === 0) {
    ingress = portsForAnyPeer(q.ingress.rules, q);
  } else {
    ingress = ALL_PORTS;
    for (const a of srcAddrs) ingress = portSetIntersect(ingress, ingressAt(memo, q, family, a));
  }
  const named = src.egress.isolated && anyNamedPorts(memo, src.egress.rules);
  return dstAddrs.map((v) => {
    const allowed = !src.egress.isolated
      ? ALL_PORTS
      : named
        ? portsForPeer(memo, src.egress.rules, family, v, q)
        : egress.valueAt(v);
    return { intervals: [[v, v]], value: portSetIntersect(allowed, ingress) };
  });
}

/** The source's egress rules as disjoint address pieces with the ports each piece allows. */
function egressPieces(
  memo: CompileMemo,
  rules: readonly ResolvedRule[],
  family: Family,
  network: readonly ManagedInterface[] | undefined,
): Piece<PortSet>[] {
  const contributions: Contribution<PortSet>[] = [];
  for (const r of rules) {
    const intervals = ruleIntervals(memo, r, family);
    if (intervals.length === 0) continue;
    contributions.push({ intervals, value: resolvePorts(r.ports, undefined) });
    if (hasNamedPorts(r)) contributions.push(...namedPortContributions(memo, r, family, network ?? []));
  }
  return partition(contributions, (vs) => vs.reduce(portSetUnion, NO_PORTS), portSetKey);
}

// Kept in the memo per network array, then per rule and family. Rules are shared by every pod
// they apply to, and NodeCompiler keeps the array while its pods are the same; a replaced array
// takes its entries with it (keyed the other way round, a long-lived rule would keep old arrays
// alive).

/** Named ports resolve on the destination pod: one contribution per pod address the rule covers. */
function namedPortContributions(
  memo: CompileMemo,
  r: ResolvedRule,
  family: Family,
  network: readonly ManagedInterface[],
): Contribution<PortSet>[] {
  let byRule = memo.namedContributions.get(network);
  if (!byRule) memo.namedContributions.set(network, (byRule = new WeakMap()));
  let cached = byRule.get(r);
  if (!cached) byRule.set(r, (cached = {}));
  return (cached[family] ??= ownersIn(network, family, ruleIntervals(memo, r, family)).map((x) => ({
    intervals: [[x.value, x.value] as Interval],
    value: resolvePorts(r.ports, x.iface.podInfo),
  })));
}

/** A source chain (with its port chains) as a fragment, and its content-named ref. */
export interface IngressPart {
  ref: string;
  fragment: ChainFragment;
  /** The address map, for building the pod's next source chain. */
  map?: AddressMapState;
}

/** Source chain of one pod interface's ingress, in one family; shared between equal contents. */
function ingressPart(
  q: ManagedInterface,
  family: Family,
  cache: CompileCache | undefined,
  memo: CompileMemo,
): IngressPart {
  const sources = (): RuleSources => {
    const pieces = ingressPieces(memo, q, family);
    return { pieces, content: `ingress/ipv${family}/${contentDigest(piecesKey(pieces))}` };
  };
  if (!cache) {
    const s = sources();
    return buildIngressChain(family, s.pieces, s.content);
  }
  // Two levels: the allowed sources per set of rule objects (pods selected by the same policies
  // share them; the pod itself matters only for named ports), then the chain per content, so
  // that new rule objects with the same sources keep the same chain object.
  const last = `${q.key}/ipv${family}`;
  const previous = cache.lastIngress.get(last);
  const rules = q.ingress.rules;
  const named = anyNamedPorts(memo, rules) ? namedPortsKey(q.podInfo) : '';
  // The same rule list (and named ports) as last time: the same part, without naming it again
  // (its cache entries are kept for pods that come to share them).
  if (previous && previous.rules === rules && previous.named === named) {
    cache.ingressSources.touch(previous.sourcesName);
    cache.ingress.touch(previous.part.ref);
    return previous.part;
  }
  const sourcesName = `ipv${family}/${rules.map(objectId).join(',')}${named ? `/${q.key}` : ''}`;
  const s = cache.ingressSources.get(sourcesName, [...rules, named], sources);
  // The pod's previous source chain lends its address map to the new one (most blocks stay).
  const part = cache.ingress.get(s.content, [], () =>
    buildIngressChain(family, s.pieces, s.content, previous?.part.map),
  );
  cache.lastIngress.set(last, { rules, named, sourcesName, part });
  return part;
}

/** The last source chain of a pod interface and family, and what it was looked up by. */
export interface LastIngress {
  rules: readonly ResolvedRule[];
  /** The pod's named ports when the rules have named ports, '' otherwise. */
  named: string;
  sourcesName: string;
  part: IngressPart;
}

/** The peers a set of rules allows, as pieces, and their content key. */
export interface RuleSources {
  pieces: Piece<PortSet>[];
  content: string;
}

function buildIngressChain(
  family: Family,
  pieces: Piece<PortSet>[],
  ref: string,
  previous?: AddressMapState,
): IngressPart {
  const set = new ChainSet();
  let map: AddressMapState | undefined;
  const fragment = set.capture(() => {
    set.namedChain(
      ref,
      () => `ingress sources (IPv${family})`,
      () => {
        const out: PendingFilter[] = [];
        map = emitPortMap(
          set,
          out,
          family,
          'srcIp',
          pieces,
          (ps) => `sources allowed ${portSetIsEmpty(ps) ? 'nothing' : describePorts(ps)}`,
          previous,
        );
        out.push(
          filter(FALLBACK_SLOT, 'all', {}, DROP, 'ingress is isolated and no rule allows this source'),
        );
        return out;
      },
    );
  });
  return { ref, fragment, map };
}

/** What an uplink's chains are built from; equal `deps` mean equal chains (see VfPlan). */
export interface UplinkPlan {
  input: UplinkDeviceInput;
  /** Source chain per isolated pod interface and family. */
  sources: Map<ManagedInterface, Partial<Record<Family, IngressPart>>>;
  deps: unknown[];
  /** What the uplink's last build kept for reuse, and where to keep this build's. */
  parts: {
    previous?: UplinkParts;
    save?: (parts: UplinkParts) => void;
  };
}

/** Parts of an uplink's chains that its next build reuses (see VfParts). */
export interface UplinkParts {
  /** The classify chain, and the addresses behind the uplink and options it was written for. */
  classify: { ips: (readonly string[])[]; opts: CompileOptions; fragment: ChainFragment };
  /** The address maps of chain +2 per family (their unchanged blocks are reused). */
  maps: Partial<Record<Family, AddressMapState>>;
}

export function planUplink(input: UplinkDeviceInput, cache?: CompileCache): UplinkPlan {
  const sources = new Map<ManagedInterface, Partial<Record<Family, IngressPart>>>();
  const deps: unknown[] = [];
  for (const q of input.interfaces) {
    deps.push(q.key, q.pod, q.network, q.ips.join(','), q.ingress.isolated);
    if (!q.ingress.isolated) continue;
    const parts: Partial<Record<Family, IngressPart>> = {};
    for (const family of FAMILIES) {
      if (addressesOf(q, family).length === 0) continue;
      parts[family] = ingressPart(q, family, cache, input.memo);
      deps.push(parts[family]);
    }
    sources.set(q, parts);
  }
  // Looked up on every compile, so the parts stay while the device exists, even when it is not rebuilt.
  return {
    input,
    sources,
    deps,
    parts: {
      previous: cache?.uplinkParts.get(input.device),
      save: cache && ((parts) => cache.uplinkParts.set(input.device, parts)),
    },
  };
}

/** Chain 2 of an uplink representor: new connections from outside the node to local pods. */
/** Returns the address maps it wrote, for the uplink's next build (see UplinkParts). */
function buildUplinkNew(
  set: ChainSet,
  plan: UplinkPlan,
  previous: UplinkParts['maps'] | undefined,
): UplinkParts['maps'] {
  const maps: UplinkParts['maps'] = {};
  const input = plan.input;
  const out = set.fixedChain(NEW_CHAIN, 'new connections from outside the node to pods behind this uplink');
  for (const family of FAMILIES) {
    // Group by address: an address shared by two networks cannot be told apart here, so new
    // connections to it are dropped (the closed choice) and compile-node warns.
    // (A list sorted by address, not a map keyed by BigInt addresses: hashing BigInts is slow.)
    const owned: Contribution<ManagedInterface>[] = [];
    for (const q of input.interfaces) {
      for (const v of addressesOf(q, family)) owned.push({ intervals: [[v, v]], value: q });
    }
    const byAddress = sortPoints(owned);
    // Values: "accept" (not isolated, the fallback), "drop" (shared address) or a source chain.
    const pieces: Piece<string>[] = [];
    const notes = new Map<string, string>();
    for (let i = 0; i < byAddress.length;) {
      const v = byAddress[i]!.intervals[0]![0];
      const qs: ManagedInterface[] = [];
      while (i < byAddress.length && byAddress[i]!.intervals[0]![0] === v) qs.push(byAddress[i++]!.value);
      const q = qs[0]!;
      if (qs.length > 1 && qs.some((x) => x.key !== q.key)) {
        pieces.push({ interval: [v, v], value: 'drop' });
        notes.set('drop', 'address shared by pods of two networks: new connections to it are dropped');
      } else if (q.ingress.isolated) {
        const part = plan.sources.get(q)![family]!;
        set.replay(part.fragment, []);
        const value = `chain:${part.ref}`;
        pieces.push({ interval: [v, v], value });
        const prev = notes.get(value);
        notes.set(value, prev ? `${prev}, ${q.pod}` : `ingress rules of ${q.pod}`);
      }
    }
    const map = emitAddressMap(
      out,
      family,
      'dstIp',
      {
        pieces,
        fallback: 'accept',
        key: (v) => v,
        act: (v) => {
          if (v === 'accept') return { actions: accept, note: 'destination ingress is not isolated' };
          if (v === 'drop') return { actions: () => DROP, note: notes.get(v)! };
          return {
            actions: () => [{ kind: 'gotoRef', ref: v.slice('chain:'.length) }],
            note: notes.get(v)!,
          };
        },
      },
      previous?.[family],
    );
    maps[family] = map;
  }
  acceptRest(out, FALLBACK_SLOT, 'destination ingress is not isolated');
  return maps;
}

export function compileVf(input: VfDeviceInput, opts: CompileOptions, cache?: CompileCache): Chain[] {
  return buildVf(planVf(input, cache), opts);
}

export function buildVf(plan: VfPlan, opts: CompileOptions): Chain[] {
  // The VF's last build lends its parts while its pod and the options are the same (notes name
  // the pod).
  const pod = plan.input.iface.pod;
  const prev = plan.parts.previous;
  const last = prev?.pod === pod && prev.opts === opts ? prev : undefined;
  const classify = last?.classify ?? {
    filters: classifyFilters(opts, () => [{ match: {}, note: `IP from ${pod} goes through conntrack` }]),
    chains: new Map(),
  };
  const section = overrideSection(plan, last);
  const tail = vfTail(plan, last);
  const newPurpose = `new connections from ${pod} (${plan.input.iface.network})`;
  const split =
    section.filters.length > (opts.overrideBlockSplit ?? DEFAULT_OVERRIDE_BLOCK_SPLIT)
      ? splitLayout(pod, section, last?.split, opts.overrideSubBlockSplit ?? DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT)
      : undefined;
  let built = last && patchedVf(last, classify, tail, section, newPurpose, split);
  if (!built) {
    const set = new ChainSet();
    set.replay(classify, set.fixedChain(CLASSIFY_CHAIN, CLASSIFY_PURPOSE));
    buildState(set);
    const out = set.fixedChain(NEW_CHAIN, newPurpose);
    for (const { family, ports } of section.portChains.values()) decide(set, family, ports);
    if (split) {
      buildSplitNew(set, out, split, section, tail);
    } else {
      for (const f of section.filters) out.push(f);
      if (tail.run) set.replay(tail.run, out);
      for (const f of tail.fallback) out.push(f);
    }
    built = { chains: set.finish(), numbers: set.numbers };
  }
  plan.parts.save?.({ pod, opts, classify, overrideFilters: section.overrideFilters, tail, split, ...built });
  return built.chains;
}

/**
 * A VF's chains when the named chains stay (the same port chains, and when split the same block
 * chains, so the same numbers): the last build's chains with chain 2 written again from its parts
 * (what ChainSet.finish would give, without building every chain again), and when split its block
 * chains, and its rest chain if the egress parts changed. Undefined when the chains or their
 * numbers would differ.
 */
function patchedVf(
  last: VfParts,
  classify: ChainFragment,
  tail: VfTail,
  section: ReturnType<typeof overrideSection>,
  purpose: string,
  split: SplitLayout | undefined,
): { chains: Chain[]; numbers: Map<string, number> } | undefined {
  if (last.classify !== classify) return undefined;
  const numbers = last.numbers;
  const named = new Set(tail.run?.chains.keys());
  for (const ref of section.portChains.keys()) named.add(ref);
  if (split) {
    named.add(REST_REF);
    for (const b of split.blocks) {
      named.add(b.ref);
      for (const l of b.leaves) named.add(l.ref);
    }
  }
  if (named.size !== numbers.size) return undefined;
  for (const ref of named) if (!numbers.has(ref)) return undefined;
  const chainOf = (ref: string) => numbers.get(ref)!;
  const resolve = (filters: PendingFilter[]) => sortFilters(filters.map((f) => resolveWith(f, chainOf)));
  const run = tail.run ? sortedResolved(tail.run, tail.run.chains.keys(), chainOf) : [];
  if (!split) {
    const filters = mergeRuns([resolve(section.filters), run, resolve(tail.fallback)]);
    return {
      chains: last.chains.map((c) => (c.index === NEW_CHAIN ? { index: NEW_CHAIN, purpose, filters } : c)),
      numbers,
    };
  }
  const written = new Map<number, Chain>();
  written.set(NEW_CHAIN, { index: NEW_CHAIN, purpose, filters: resolve(split.chain2) });
  // A block or sub-block taken whole from the last layout keeps its chain (same filters, same numbers).
  const kept = new Set(last.split?.blocks);
  const keptLeaves = new Set(last.split?.blocks.flatMap((b) => b.leaves));
  for (const b of split.blocks) {
    if (kept.has(b)) continue;
    const index = chainOf(b.ref);
    written.set(index, { index, purpose: b.purpose, filters: resolve(b.filters) });
    for (const l of b.leaves) {
      if (keptLeaves.has(l)) continue;
      const at = chainOf(l.ref);
      written.set(at, { index: at, purpose: l.purpose, filters: resolve(l.filters) });
    }
  }
  if (last.tail !== tail) {
    const index = chainOf(REST_REF);
    written.set(index, {
      index,
      purpose: split.restPurpose,
      filters: mergeRuns([run, resolve(tail.fallback)]),
    });
  }
  return { chains: last.chains.map((c) => written.get(c.index) ?? c), numbers };
}

export function compileUplink(input: UplinkDeviceInput, opts: CompileOptions, cache?: CompileCache): Chain[] {
  return buildUplink(planUplink(input, cache), opts);
}

export function buildUplink(plan: UplinkPlan, opts: CompileOptions): Chain[] {
  const set = new ChainSet();
  // The classify chain depends only on the addresses behind the uplink: kept while they stay.
  const ips = plan.input.interfaces.map((q) => q.ips);
  const last = plan.parts.previous;
  const kept = last?.classify;
  const same =
    kept !== undefined &&
    kept.opts === opts &&
    kept.ips.length === ips.length &&
    kept.ips.every((x, i) => sameIps(x, ips[i]!));
  const classify = same ? kept.fragment : { filters: uplinkClassifyFilters(plan, opts), chains: new Map() };
  set.replay(classify, set.fixedChain(CLASSIFY_CHAIN, CLASSIFY_PURPOSE));
  buildState(set);
  const maps = buildUplinkNew(set, plan, last?.maps);
  plan.parts.save?.({ classify: { ips, opts, fragment: classify }, maps });
  return set.finish();
}

function uplinkClassifyFilters(plan: UplinkPlan, opts: CompileOptions): PendingFilter[] {
  return classifyFilters(opts, (c) => {
    const values: Interval[] = [];
    for (const q of plan.input.interfaces) {
      for (const v of addressesOf(q, c.family)) values.push([v, v]);
    }
    const cidrs = normalizeIntervals(values).flatMap((iv) => intervalToCidrs(iv, c.family));
    return cidrs.map((cidr) => ({
      match: { dstIp: cidr },
      note: 'IP to a managed pod on this node goes through conntrack',
    }));
  });
}
