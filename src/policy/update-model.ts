// Updates a PolicyModel after some pods changed (labels, addresses, new or deleted pods), without
// rebuilding it. The result equals what buildPolicyModel gives for the new snapshot, and every
// interface and resolved rule that did not change stays the same object: that is what lets the
// node compiler (src/tc/compile/node.ts) reuse what it built from them.
//
// Precondition: `next` differs from `prevSnapshot` only in the pods listed in `changedPods`
// (diffSnapshots in src/cluster/snapshot-diff.ts says whether that holds; a change to policies,
// namespaces, networks, nodes or problems needs a full build). A changed pod with reading problems
// or an address clash falls back to a full build here, and says why.

import type { ClusterSnapshot, PodInfo } from '../cluster/snapshot.js';
import { findPod } from '../cluster/build-snapshot.js';
import type { Problem } from '../cluster/problem.js';
import { type Cidr, parseCidr } from '../util/ip/index.js';
import { MapDraft } from '../util/layered-map.js';
import { BlockTable, compareBlocks, hostBlocks } from './block-table.js';
import {
  buildPolicyModel,
  isLivePod,
  managedNetworks,
  namespaceLabelsOf,
  podInterfaces,
  type BuildModelOptions,
} from './build-model.js';
import { LabelView, namespaceViews, selectorPool } from './label-views.js';
import {
  candidateKeys,
  type ModelIndex,
  ModelIndexes,
  policyKey,
  type RuleEntry,
  rulesOf,
  selectorIndexOf,
  selectorPeers,
} from './model-index.js';
import {
  type PeerGroup,
  type PeerSources,
  peerSelects,
  RuleResolver,
  ruleKey,
  type SelectorPeer,
} from './resolve-rule.js';
import { patchByKey } from './sorted-interfaces.js';
import {
  EMPTY_DELTA,
  type AddressBlock,
  type Direction,
  type DirectionPolicy,
  type ManagedInterface,
  type ModelDelta,
  type PolicyModel,
  type ResolvedRule,
  type RuleChange,
} from './types.js';

/** A model update: the new model, and the rules it replaced (empty after a full build). */
export type ModelUpdate =
  | {
      model: PolicyModel;
      delta: ModelDelta;
      incremental: true;
      changedInterfaces: number;
      changedRules: number;
    }
  | { model: PolicyModel; delta: ModelDelta; incremental: false; reason: string };

/** Problems of the model that are not the snapshot's, and that name this pod. */
function podHasModelProblems(problems: Problem[], pod: string): boolean {
  return problems.some((p) => p.object === `Pod ${pod}` || p.message.includes(` ${pod}/`));
}

/** `blocks` (in rule order, see compareBlocks) with `b` added at its place, unless it is there already. */
function insertBlock(blocks: AddressBlock[], b: AddressBlock): AddressBlock[] {
  const key = { parsed: parseCidr(b.cidr)!, exceptText: b.except.join(',') };
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = blocks[mid]!;
    const cmp = compareBlocks({ parsed: parseCidr(m.cidr) as Cidr, exceptText: m.except.join(',') }, key);
    if (cmp === 0) return blocks;
    if (cmp < 0) lo = mid + 1;
    else hi = mid;
  }
  return [...blocks.slice(0, lo), b, ...blocks.slice(lo)];
}

function sameBlocks(a: AddressBlock[], b: AddressBlock[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => x.cidr === b[i]!.cidr && x.except.join(',') === b[i]!.except.join(','))
  );
}

/** The changed pods' interfaces before (`removed`) and after (`added`) the change. */
interface PodChange {
  changed: ReadonlySet<string>;
  removed: ManagedInterface[];
  removedKeys: ReadonlySet<string>;
  /** Sorted by key; direction policies still empty until assignDirectionPolicies. */
  added: ManagedInterface[];
}

/** The changed pods' interfaces, or why the update must be a full build. */
function changedInterfaces(
  prev: PolicyModel,
  idx: ModelIndex,
  next: ClusterSnapshot,
  changed: ReadonlySet<string>,
  opts: BuildModelOptions,
): PodChange | { reason: string } {
  const managed = managedNetworks(next, opts.networkPlugins);
  const added: ManagedInterface[] = [];
  for (const key of [...changed].sort()) {
    const slash = key.indexOf('/');
    const pod = findPod(next.pods, key.slice(0, slash), key.slice(slash + 1));
    if (!pod || !isLivePod(pod)) continue;
    const problems: Problem[] = [];
    added.push(...podInterfaces(pod, managed, problems));
    if (problems.length > 0) return { reason: `pod ${pod.namespace}/${pod.name} has problems` };
  }
  added.sort((a, b) => (a.key < b.key ? -1 : 1));
  const removed = [...changed].flatMap((pod) => idx.byPod.get(pod) ?? []);
  // Addresses must stay unique per network; a clash is reported by the full build.
  const claimed = new Set<string>();
  for (const itf of added) {
    for (const ip of itf.ips) {
      const owner = prev.byIp.get(itf.network)?.get(ip);
      const id = `${itf.network}\n${ip}`;
      if ((owner && !changed.has(owner.pod)) || claimed.has(id)) return { reason: `address ${ip} clashes` };
      claimed.add(id);
    }
  }
  return { changed, removed, removedKeys: new Set(removed.map((i) => i.key)), added };
}

/** One interface as a peer group of its own; its host blocks are read only when it is selected. */
class InterfaceGroup implements PeerGroup {
  private blocks: ReturnType<typeof hostBlocks> | undefined;

  constructor(
    readonly view: LabelView,
    private readonly itf: ManagedInterface,
    private readonly table: BlockTable,
  ) {}

  get hosts(): ReturnType<typeof hostBlocks> {
    return (this.blocks ??= hostBlocks(this.itf, this.table));
  }
}

/**
 * The pods after the change, as selector peers see them: what the rule resolver reads, and the
 * answers of the update's own selector questions, through the same label views.
 */
class PeersAfter implements PeerSources {
  readonly table = new BlockTable();
  readonly namespaces: ReadonlyMap<string, LabelView>;
  readonly shared = selectorPool();
  private readonly views = new Map<Record<string, string>, LabelView>();
  private readonly networks = new Map<string, Map<string, Map<ManagedInterface, PeerGroup>>>();

  constructor(
    next: ClusterSnapshot,
    private readonly prev: PolicyModel,
    private readonly change: PodChange,
  ) {
    this.namespaces = namespaceViews(namespaceLabelsOf(next));
  }

  viewOf(pod: PodInfo): LabelView {
    const labels = pod.labels ?? {};
    let view = this.views.get(labels);
    if (!view) this.views.set(labels, (view = new LabelView(labels)));
    return view;
  }

  selects(peer: SelectorPeer, policyNs: string, itf: ManagedInterface): boolean {
    const pod = itf.podInfo;
    return peerSelects(peer, policyNs, pod.namespace, this.viewOf(pod), this.namespaces);
  }

  hostBlocks(itf: ManagedInterface): AddressBlock[] {
    return hostBlocks(itf, this.table).map((h) => h.block);
  }

  /** The network's interfaces after the change, by namespace; built when a rule is resolved. */
  groupsOn(network: string): ReadonlyMap<string, ReadonlyMap<unknown, PeerGroup>> {
    let byNs = this.networks.get(network);
    if (byNs) return byNs;
    this.networks.set(network, (byNs = new Map()));
    const { removedKeys, added } = this.change;
    const after = (this.prev.byNetwork.get(network) ?? []).filter((i) => !removedKeys.has(i.key));
    after.push(...added.filter((i) => i.network === network));
    for (const itf of after) {
      const ns = itf.podInfo.namespace;
      let groups = byNs.get(ns);
      if (!groups) byNs.set(ns, (groups = new Map()));
      groups.set(itf, new InterfaceGroup(this.viewOf(itf.podInfo), itf, this.table));
    }
    return byNs;
  }
}

/** The rules the change replaced: each replacing rule with the rule it replaced, and where. */
interface RuleReplacements {
  rules: MapDraft<string, RuleEntry>;
  /** Replaced rule -> the rule replacing it. */
  replacing: Map<ResolvedRule, ResolvedRule>;
  changes: Map<ResolvedRule, RuleChange>;
  /** Keys of the replaced rules. */
  keys: string[];
}

/**
 * Rules whose selector peers selected a removed interface or select an added one: their blocks
 * lose and gain those host blocks (addresses are unique per network, so no other interface holds
 * them; an ipBlock peer of the same rule may, and keeps its block). Only the rules that can
 * select a changed pod are looked at (SelectorIndex).
 */
function replaceRules(idx: ModelIndex, change: PodChange, peers: PeersAfter): RuleReplacements {
  const { removed, added } = change;
  const out: RuleReplacements = {
    rules: new MapDraft(idx.rules),
    replacing: new Map(),
    changes: new Map(),
    keys: [],
  };
  const selectorIndex = selectorIndexOf(idx);
  const changedInfos = [...removed, ...added].map((i) => i.podInfo);
  const touchedNetworks = new Set([...removed, ...added].map((i) => i.network));
  const candidates = [...touchedNetworks].sort().flatMap((n) => {
    const index = selectorIndex.get(n);
    return index ? candidateKeys(index, changedInfos) : [];
  });
  for (const key of candidates) {
    const e = idx.rules.get(key);
    if (!e || e.rule.peers.kind === 'all' || e.resolved.peers.kind !== 'blocks') continue;
    const selected = (itf: ManagedInterface) =>
      itf.network === e.network && e.selectors.some((p) => peers.selects(p, e.policy.namespace, itf));
    // Most rules select none of the changed pods, before or after: checked before allocating.
    if (!removed.some(selected) && !added.some(selected)) continue;
    const gone = new Set(removed.filter(selected).flatMap((i) => peers.hostBlocks(i).map((b) => b.cidr)));
    const come = added.filter(selected).flatMap((i) => peers.hostBlocks(i));
    // Selected before and after, at the same addresses (most label changes): nothing to do.
    if (gone.size === come.length && come.every((b) => gone.has(b.cidr))) continue;
    for (const peer of e.rule.peers.peers) {
      if (peer.kind === 'ipBlock' && peer.except.length === 0) gone.delete(peer.cidr);
    }
    const old = e.resolved.peers.blocks;
    let blocks = gone.size === 0 ? old : old.filter((b) => !(b.except.length === 0 && gone.has(b.cidr)));
    for (const h of come) blocks = insertBlock(blocks, h);
    // insertBlock keeps the array when the block is there already.
    if (blocks === old || (blocks.length === old.length && sameBlocks(blocks, old))) continue;
    const fresh: ResolvedRule = {
      origin: e.resolved.origin,
      peers: { kind: 'blocks', blocks },
      ports: e.resolved.ports,
    };
    out.replacing.set(e.resolved, fresh);
    out.changes.set(fresh, {
      previous: e.resolved,
      addresses: new Set(
        [...gone, ...come.map((b) => b.cidr)].map((cidr) => cidr.slice(0, cidr.indexOf('/'))),
      ),
    });
    out.keys.push(key);
    out.rules.set(key, Object.assign({}, e, { resolved: fresh }));
  }
  return out;
}

/**
 * Direction policies of the added interfaces, as buildPolicyModel computes them. A rule the
 * model did not have yet (on this network) is resolved by the shared resolver.
 */
function assignDirectionPolicies(
  idx: ModelIndex,
  change: PodChange,
  rules: MapDraft<string, RuleEntry>,
  peers: PeersAfter,
): void {
  const resolver = new RuleResolver(peers);
  const directionPolicy = (itf: ManagedInterface, d: Direction): DirectionPolicy => {
    const pod = itf.podInfo;
    const view = peers.viewOf(pod);
    const selecting = (idx.policiesByNs.get(pod.namespace) ?? []).filter(
      (p) => p[d] && p.networks.includes(itf.network) && view.matches(p.podSelector),
    );
    const list: ResolvedRule[] = [];
    for (const p of selecting) {
      for (const r of rulesOf(p, d)) {
        const key = ruleKey(itf.network, r);
        let e = rules.get(key);
        if (!e) {
          const resolved = resolver.resolve(r, p.namespace, itf.network);
          e = {
            network: itf.network,
            policy: p,
            rule: r,
            selectors: selectorPeers(r),
            resolved,
            users: new Set(),
          };
          rules.set(key, e);
        }
        list.push(e.resolved);
      }
    }
    return { isolated: selecting.length > 0, rules: list, policies: [...new Set(selecting.map(policyKey))] };
  };
  for (const itf of change.added) {
    itf.ingress = directionPolicy(itf, 'ingress');
    itf.egress = directionPolicy(itf, 'egress');
  }
}

/**
 * Users of replaced rules get a new interface object with the new rules. Copies are made with
 * Object.assign, not a spread: V8 gives every spread copy a map of its own, and the compiler
 * reads these objects in its hottest loops.
 */
function withReplacedRules(
  prev: PolicyModel,
  idx: ModelIndex,
  change: PodChange,
  replacements: RuleReplacements,
): Map<string, ManagedInterface> {
  const { replacing } = replacements;
  const remap = (dp: DirectionPolicy): DirectionPolicy =>
    dp.rules.some((r) => replacing.has(r))
      ? Object.assign({}, dp, { rules: dp.rules.map((r) => replacing.get(r) ?? r) })
      : dp;
  const replaced = new Map<string, ManagedInterface>();
  for (const ruleId of replacements.keys) {
    for (const key of idx.rules.get(ruleId)!.users) {
      if (change.removedKeys.has(key) || replaced.has(key)) continue;
      const itf = prev.byKey.get(key)!;
      replaced.set(key, Object.assign({}, itf, { ingress: remap(itf.ingress), egress: remap(itf.egress) }));
    }
  }
  return replaced;
}

/** Which interfaces use each rule, for the next update; a rule nobody uses is dropped. */
function recordUsers(rules: MapDraft<string, RuleEntry>, change: PodChange): void {
  const touchUsers = (key: string, edit: (users: Set<string>) => void) => {
    const e = rules.get(key)!;
    const users = new Set(e.users);
    edit(users);
    rules.set(key, Object.assign({}, e, { users }));
  };
  for (const itf of change.removed) {
    for (const d of ['ingress', 'egress'] as const) {
      for (const r of itf[d].rules) {
        const key = ruleKey(itf.network, r);
        if (rules.has(key)) touchUsers(key, (u) => u.delete(itf.key));
      }
    }
  }
  for (const itf of change.added) {
    for (const d of ['ingress', 'egress'] as const) {
      for (const r of itf[d].rules) touchUsers(ruleKey(itf.network, r), (u) => u.add(itf.key));
    }
  }
  for (const key of [...rules.touched()]) if (rules.get(key)?.users.size === 0) rules.delete(key);
}

/** The new model: the old one with removed, added and replaced interfaces. */
function patchModel(
  prev: PolicyModel,
  next: ClusterSnapshot,
  modelProblems: Problem[],
  change: PodChange,
  replaced: ReadonlyMap<string, ManagedInterface>,
): PolicyModel {
  const { removed, removedKeys, added } = change;
  const upserts = [...replaced.values(), ...added];
  const interfaces = patchByKey(prev.interfaces, removedKeys, upserts);
  const byNetwork = new Map(prev.byNetwork);
  for (const n of new Set([...removed, ...upserts].map((i) => i.network))) {
    const list = patchByKey(
      prev.byNetwork.get(n) ?? [],
      removedKeys,
      upserts.filter((i) => i.network === n),
    );
    if (list.length > 0) byNetwork.set(n, list);
    else byNetwork.delete(n);
  }
  const byKey = new MapDraft(prev.byKey);
  for (const i of removed) byKey.delete(i.key);
  for (const i of upserts) byKey.set(i.key, i);
  const byIp = new Map(prev.byIp);
  const netCopies = new Map<string, MapDraft<string, ManagedInterface>>();
  const netOf = (n: string) =>
    netCopies.get(n) ?? netCopies.set(n, new MapDraft(byIp.get(n) ?? new Map())).get(n)!;
  for (const i of removed) {
    const net = netOf(i.network);
    for (const ip of i.ips) net.delete(ip);
  }
  for (const i of added) {
    // As buildPolicyModel: a network with interfaces has a map, even when none has an address.
    const net = netOf(i.network);
    for (const ip of i.ips) net.set(ip, i);
  }
  // A replaced interface takes over only the addresses it owned (a clash leaves them to another).
  for (const i of replaced.values()) {
    for (const ip of i.ips) if (byIp.get(i.network)?.get(ip)?.key === i.key) netOf(i.network).set(ip, i);
  }
  for (const [n, draft] of netCopies) {
    const m = draft.finish();
    if (m.size === 0 && !interfaces.some((i) => i.network === n)) byIp.delete(n);
    else byIp.set(n, m);
  }
  return {
    interfaces,
    byKey: byKey.finish(),
    byNetwork,
    byIp,
    policies: prev.policies,
    problems: [...next.problems, ...modelProblems],
  };
}

/** The index the next update starts from. */
function nextIndex(
  idx: ModelIndex,
  rules: MapDraft<string, RuleEntry>,
  change: PodChange,
  replaced: ReadonlyMap<string, ManagedInterface>,
): ModelIndex {
  const byPod = new MapDraft(idx.byPod);
  for (const pod of change.changed) byPod.delete(pod);
  for (const i of change.added) byPod.set(i.pod, [...(byPod.get(i.pod) ?? []), i]);
  for (const i of replaced.values())
    byPod.set(
      i.pod,
      byPod.get(i.pod)!.map((x) => (x.key === i.key ? i : x)),
    );
  // The rules with selector peers are the same keys while no rule was added (a deleted one is skipped).
  const addedRule = [...rules.touched()].some((key) => !idx.rules.has(key) && rules.has(key));
  return {
    rules: rules.finish(),
    byPod: byPod.finish(),
    policiesByNs: idx.policiesByNs,
    selectorIndex: addedRule ? undefined : idx.selectorIndex,
  };
}

/**
 * `indexes`: where the index of `prev` is found and that of the new model is kept. The caller
 * that updates models one after the other owns one (the agent's NodePipelineBuilder does): a
 * model is indexed once, then each update hands its index on.
 */
export function updatePolicyModel(
  prev: PolicyModel,
  prevSnapshot: ClusterSnapshot,
  next: ClusterSnapshot,
  changedPods: readonly string[],
  opts: BuildModelOptions,
  indexes: ModelIndexes,
): ModelUpdate {
  const full = (reason: string): ModelUpdate => ({
    model: buildPolicyModel(next, opts),
    delta: EMPTY_DELTA,
    incremental: false,
    reason,
  });
  const changed = new Set(changedPods);
  const modelProblems = prev.problems.slice(prevSnapshot.problems.length);
  for (const pod of changed) {
    if (podHasModelProblems(modelProblems, pod)) return full(`pod ${pod} had problems`);
  }
  const idx = indexes.of(prev);
  const change = changedInterfaces(prev, idx, next, changed, opts);
  if ('reason' in change) return full(change.reason);

  const peers = new PeersAfter(next, prev, change);
  const replacements = replaceRules(idx, change, peers);
  assignDirectionPolicies(idx, change, replacements.rules, peers);
  const replaced = withReplacedRules(prev, idx, change, replacements);
  recordUsers(replacements.rules, change);

  const model = patchModel(prev, next, modelProblems, change, replaced);
  indexes.set(model, nextIndex(idx, replacements.rules, change, replaced));
  return {
    model,
    delta: { replaced: replacements.changes },
    incremental: true,
    changedInterfaces: change.added.length + replaced.size,
    changedRules: replacements.replacing.size,
  };
}
