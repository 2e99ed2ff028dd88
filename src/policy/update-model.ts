// Updates a PolicyModel after some pods changed (labels, addresses, new or deleted pods), without
// rebuilding it. The result equals what buildPolicyModel gives for the new snapshot, and every
// interface and resolved rule that did not change stays the same object: that is what lets the
// node compiler (src/tc/compile-node.ts) reuse what it built from them.
//
// Precondition: `next` differs from `prevSnapshot` only in the pods listed in `changedPods`
// (diffSnapshots in src/cluster/snapshot-diff.ts says whether that holds; a change to policies,
// namespaces, networks, nodes or problems needs a full build). A changed pod with reading problems
// or an address clash falls back to a full build here, and says why.

import type { ClusterSnapshot, PodInfo } from '../cluster/snapshot.js';
import { findPod } from '../cluster/build-snapshot.js';
import type { Problem } from '../cluster/problem.js';
import { compareCidr, hostCidr, parseAddress, parseCidr } from '../util/ip/index.js';
import {
  buildPolicyModel,
  isLivePod,
  managedNetworks,
  namespaceLabelsOf,
  podInterfaces,
  ruleKey,
  type BuildModelOptions,
} from './build-model.js';
import { selectorMatches } from './selector.js';
import { MapDraft } from '../util/layered-map.js';
import {
  EMPTY_DELTA,
  type AddressBlock,
  type Direction,
  type DirectionPolicy,
  type ManagedInterface,
  type ModelDelta,
  type NormalizedPolicy,
  type NormalizedRule,
  type Peer,
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

type SelectorPeer = Extract<Peer, { kind: 'selector' }>;

/** One resolved rule of the model: a policy rule on one network, and who uses it. */
interface RuleEntry {
  network: string;
  policy: NormalizedPolicy;
  rule: NormalizedRule;
  /** The rule's selector peers (the ones a pod change can affect). */
  selectors: SelectorPeer[];
  resolved: ResolvedRule;
  /** Keys of the interfaces whose direction policies list it. */
  users: ReadonlySet<string>;
}

/** What the update needs to know about a model beyond its public fields. */
interface ModelIndex {
  rules: ReadonlyMap<string, RuleEntry>;
  byPod: ReadonlyMap<string, ManagedInterface[]>;
  policiesByNs: Map<string, NormalizedPolicy[]>;
  /**
   * The rules with selector peers (the ones a pod change can affect), per network, indexed by
   * what a pod needs to be selected by them (see SelectorIndex). Kept while no rule is added.
   */
  selectorIndex?: Map<string, SelectorIndex>;
}

/**
 * The keys of one network's rules with selector peers, in the order of `rules` (a key may have
 * been deleted since), and where to look for the ones that can select a pod. A selector peer
 * selects only pods that meet one condition: the first of its podSelector's matchLabels, or,
 * without those and without a namespaceSelector, the policy's namespace. A rule all of whose
 * peers have one is listed under each; the others are always looked at.
 */
interface SelectorIndex {
  keys: string[];
  /** Positions in `keys`, per condition (see podConditions). */
  byCondition: Map<string, number[]>;
  /** Positions in `keys` of the rules with a peer no condition narrows. */
  always: number[];
}

function peerCondition(peer: SelectorPeer, policyNs: string): string | undefined {
  const labels = peer.podSelector ? Object.keys(peer.podSelector.matchLabels).sort() : [];
  if (labels.length > 0) return `label\0${labels[0]!}\0${peer.podSelector!.matchLabels[labels[0]!]!}`;
  return peer.namespaceSelector ? undefined : `namespace\0${policyNs}`;
}

/** Every condition a pod meets (its labels and its namespace). */
function podConditions(pod: PodInfo): string[] {
  const out = [`namespace\0${pod.namespace}`];
  for (const [k, v] of Object.entries(pod.labels ?? {})) out.push(`label\0${k}\0${v}`);
  return out;
}

function selectorIndexOf(idx: ModelIndex): Map<string, SelectorIndex> {
  if (idx.selectorIndex) return idx.selectorIndex;
  const out = new Map<string, SelectorIndex>();
  for (const [key, e] of idx.rules) {
    if (e.rule.peers.kind === 'all' || e.selectors.length === 0) continue;
    let net = out.get(e.network);
    if (!net) out.set(e.network, (net = { keys: [], byCondition: new Map(), always: [] }));
    const at = net.keys.push(key) - 1;
    const conditions = e.selectors.map((p) => peerCondition(p, e.policy.namespace));
    if (conditions.some((c) => c === undefined)) {
      net.always.push(at);
      continue;
    }
    for (const c of new Set(conditions as string[])) {
      const list = net.byCondition.get(c);
      if (list) list.push(at);
      else net.byCondition.set(c, [at]);
    }
  }
  return (idx.selectorIndex = out);
}

/** The keys of the network's rules that can select one of these pods, in the order of `keys`. */
function candidateKeys(index: SelectorIndex, pods: readonly PodInfo[]): string[] {
  const at = new Set(index.always);
  for (const pod of pods) {
    for (const c of podConditions(pod)) for (const i of index.byCondition.get(c) ?? []) at.add(i);
  }
  return [...at].sort((a, b) => a - b).map((i) => index.keys[i]!);
}

const indexes = new WeakMap<PolicyModel, ModelIndex>();

function selectorPeers(rule: NormalizedRule): SelectorPeer[] {
  return rule.peers.kind === 'all'
    ? []
    : rule.peers.peers.filter((p): p is SelectorPeer => p.kind === 'selector');
}

function policyKey(p: NormalizedPolicy): string {
  return `${p.namespace}/${p.name}`;
}

function rulesOf(p: NormalizedPolicy, d: Direction): NormalizedRule[] {
  return d === 'ingress' ? p.ingressRules : p.egressRules;
}

function indexOf(model: PolicyModel): ModelIndex {
  const known = indexes.get(model);
  if (known) return known;
  const policiesByNs = new Map<string, NormalizedPolicy[]>();
  const policyByKey = new Map<string, NormalizedPolicy>();
  for (const p of model.policies) {
    policyByKey.set(policyKey(p), p);
    const list = policiesByNs.get(p.namespace);
    if (list) list.push(p);
    else policiesByNs.set(p.namespace, [p]);
  }
  const rules = new Map<string, RuleEntry>();
  const byPod = new Map<string, ManagedInterface[]>();
  for (const itf of model.interfaces) {
    const list = byPod.get(itf.pod);
    if (list) list.push(itf);
    else byPod.set(itf.pod, [itf]);
    for (const d of ['ingress', 'egress'] as const) {
      for (const r of itf[d].rules) {
        const key = ruleKey(itf.network, r);
        let e = rules.get(key);
        if (!e) {
          const policy = policyByKey.get(r.origin.policy)!;
          const rule = rulesOf(policy, d).find((x) => x.origin.index === r.origin.index)!;
          e = {
            network: itf.network,
            policy,
            rule,
            selectors: selectorPeers(rule),
            resolved: r,
            users: new Set(),
          };
          rules.set(key, e);
        }
        (e.users as Set<string>).add(itf.key);
      }
    }
  }
  const index = { rules, byPod, policiesByNs };
  indexes.set(model, index);
  return index;
}

/** Problems of the model that are not the snapshot's, and that name this pod. */
function podHasModelProblems(problems: Problem[], pod: string): boolean {
  return problems.some((p) => p.object === `Pod ${pod}` || p.message.includes(` ${pod}/`));
}

/** Sorted like buildPolicyModel lists blocks: by address, then except text; de-duplicated. */
function orderBlocks(blocks: AddressBlock[]): AddressBlock[] {
  const unique = new Map<string, { b: AddressBlock; except: string }>();
  for (const b of blocks) {
    const except = b.except.join(',');
    unique.set(`${b.cidr}|${except}`, { b, except });
  }
  const parsed = [...unique.values()].map((x) => ({ ...x, c: parseCidr(x.b.cidr)! }));
  parsed.sort((x, y) => compareCidr(x.c, y.c) || (x.except < y.except ? -1 : x.except > y.except ? 1 : 0));
  return parsed.map((x) => x.b);
}

/** `blocks` (in orderBlocks order) with `b` added at its place, unless it is there already. */
function insertBlock(blocks: AddressBlock[], b: AddressBlock): AddressBlock[] {
  const c = parseCidr(b.cidr)!;
  const except = b.except.join(',');
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = blocks[mid]!;
    const me = m.except.join(',');
    const cmp = compareCidr(parseCidr(m.cidr)!, c) || (me < except ? -1 : me > except ? 1 : 0);
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

function hostBlocksOf(itf: ManagedInterface): AddressBlock[] {
  const out: AddressBlock[] = [];
  for (const ip of itf.ips) {
    const addr = parseAddress(ip);
    if (addr) out.push({ cidr: `${ip}/${hostCidr(addr).prefix}`, except: [] });
  }
  return out;
}

export function updatePolicyModel(
  prev: PolicyModel,
  prevSnapshot: ClusterSnapshot,
  next: ClusterSnapshot,
  changedPods: readonly string[],
  opts: BuildModelOptions,
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
  const idx = indexOf(prev);
  const nsLabels = namespaceLabelsOf(next);

  // The changed pods' interfaces in the new snapshot.
  const managed = managedNetworks(next, opts.networkPlugins);
  const added: ManagedInterface[] = [];
  for (const key of [...changed].sort()) {
    const slash = key.indexOf('/');
    const pod = findPod(next.pods, key.slice(0, slash), key.slice(slash + 1));
    if (!pod || !isLivePod(pod)) continue;
    const problems: Problem[] = [];
    added.push(...podInterfaces(pod, managed, problems));
    if (problems.length > 0) return full(`pod ${pod.namespace}/${pod.name} has problems`);
  }
  added.sort((a, b) => (a.key < b.key ? -1 : 1));
  const removed = [...changed].flatMap((pod) => idx.byPod.get(pod) ?? []);
  // Addresses must stay unique per network; a clash is reported by the full build.
  const claimed = new Set<string>();
  for (const itf of added) {
    for (const ip of itf.ips) {
      const owner = prev.byIp.get(itf.network)?.get(ip);
      const id = `${itf.network}\n${ip}`;
      if ((owner && !changed.has(owner.pod)) || claimed.has(id)) return full(`address ${ip} clashes`);
      claimed.add(id);
    }
  }

  const peerSelects = (peer: SelectorPeer, policyNs: string, pod: PodInfo): boolean => {
    if (peer.namespaceSelector) {
      const labels = nsLabels.get(pod.namespace);
      if (!labels || !selectorMatches(peer.namespaceSelector, labels)) return false;
    } else if (pod.namespace !== policyNs) {
      return false;
    }
    return !peer.podSelector || selectorMatches(peer.podSelector, pod.labels ?? {});
  };

  // Interfaces per network after the change, built only when a rule has to be resolved again.
  const touchedNetworks = new Set([...removed, ...added].map((i) => i.network));
  const removedKeys = new Set(removed.map((i) => i.key));
  const afterOn = new Map<string, ManagedInterface[]>();
  const interfacesAfter = (network: string): ManagedInterface[] => {
    let list = afterOn.get(network);
    if (!list) {
      list = prev.interfaces.filter((i) => i.network === network && !removedKeys.has(i.key));
      list.push(...added.filter((i) => i.network === network));
      afterOn.set(network, list);
    }
    return list;
  };
  const resolve = (rule: NormalizedRule, policy: NormalizedPolicy, network: string): ResolvedRule => {
    if (rule.peers.kind === 'all') return { origin: rule.origin, peers: { kind: 'any' }, ports: rule.ports };
    const blocks: AddressBlock[] = [];
    for (const peer of rule.peers.peers) {
      if (peer.kind === 'ipBlock') {
        blocks.push({ cidr: peer.cidr, except: [...peer.except] });
        continue;
      }
      for (const itf of interfacesAfter(network)) {
        if (peerSelects(peer, policy.namespace, itf.podInfo)) blocks.push(...hostBlocksOf(itf));
      }
    }
    return { origin: rule.origin, peers: { kind: 'blocks', blocks: orderBlocks(blocks) }, ports: rule.ports };
  };

  // Rules whose selector peers selected a removed interface or select an added one: their
  // blocks lose and gain those host blocks (addresses are unique per network, so no other
  // interface holds them; an ipBlock peer of the same rule may, and keeps its block).
  const rules = new MapDraft(idx.rules);
  const replacedRules = new Map<ResolvedRule, ResolvedRule>();
  const changes = new Map<ResolvedRule, RuleChange>();
  const replacedKeys: string[] = [];
  const selectorIndex = selectorIndexOf(idx);
  const changedInfos = [...removed, ...added].map((i) => i.podInfo);
  const candidates = [...touchedNetworks].sort().flatMap((n) => {
    const index = selectorIndex.get(n);
    return index ? candidateKeys(index, changedInfos) : [];
  });
  for (const key of candidates) {
    const e = idx.rules.get(key);
    if (!e || e.rule.peers.kind === 'all' || e.resolved.peers.kind !== 'blocks') continue;
    const peers = e.selectors;
    const selected = (itf: ManagedInterface) =>
      itf.network === e.network && peers.some((p) => peerSelects(p, e.policy.namespace, itf.podInfo));
    // Most rules select none of the changed pods, before or after: checked before allocating.
    if (!removed.some(selected) && !added.some(selected)) continue;
    const gone = new Set(removed.filter(selected).flatMap((i) => hostBlocksOf(i).map((b) => b.cidr)));
    const come = added.filter(selected).flatMap(hostBlocksOf);
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
    replacedRules.set(e.resolved, fresh);
    changes.set(fresh, {
      previous: e.resolved,
      addresses: new Set(
        [...gone, ...come.map((b) => b.cidr)].map((cidr) => cidr.slice(0, cidr.indexOf('/'))),
      ),
    });
    replacedKeys.push(key);
    rules.set(key, Object.assign({}, e, { resolved: fresh }));
  }

  // Direction policies of the added interfaces, as buildPolicyModel computes them.
  const directionPolicy = (itf: ManagedInterface, d: Direction): DirectionPolicy => {
    const pod = itf.podInfo;
    const selecting = (idx.policiesByNs.get(pod.namespace) ?? []).filter(
      (p) => p[d] && p.networks.includes(itf.network) && selectorMatches(p.podSelector, pod.labels ?? {}),
    );
    const list: ResolvedRule[] = [];
    for (const p of selecting) {
      for (const r of rulesOf(p, d)) {
        const key = ruleKey(itf.network, r);
        let e = rules.get(key);
        if (!e) {
          e = {
            network: itf.network,
            policy: p,
            rule: r,
            selectors: selectorPeers(r),
            resolved: resolve(r, p, itf.network),
            users: new Set(),
          };
          rules.set(key, e);
        }
        list.push(e.resolved);
      }
    }
    return { isolated: selecting.length > 0, rules: list, policies: [...new Set(selecting.map(policyKey))] };
  };
  for (const itf of added) {
    itf.ingress = directionPolicy(itf, 'ingress');
    itf.egress = directionPolicy(itf, 'egress');
  }

  // Users of replaced rules get a new interface object with the new rules. Copies are made with
  // Object.assign, not a spread: V8 gives every spread copy a map of its own, and the compiler
  // reads these objects in its hottest loops.
  const remap = (dp: DirectionPolicy): DirectionPolicy =>
    dp.rules.some((r) => replacedRules.has(r))
      ? Object.assign({}, dp, { rules: dp.rules.map((r) => replacedRules.get(r) ?? r) })
      : dp;
  const replaced = new Map<string, ManagedInterface>();
  for (const ruleId of replacedKeys) {
    for (const key of idx.rules.get(ruleId)!.users) {
      if (removedKeys.has(key) || replaced.has(key)) continue;
      const itf = prev.byKey.get(key)!;
      replaced.set(key, Object.assign({}, itf, { ingress: remap(itf.ingress), egress: remap(itf.egress) }));
    }
  }

  // Usage bookkeeping for the next update.
  const touchUsers = (key: string, edit: (users: Set<string>) => void) => {
    const e = rules.get(key)!;
    const users = new Set(e.users);
    edit(users);
    rules.set(key, Object.assign({}, e, { users }));
  };
  for (const itf of removed) {
    for (const d of ['ingress', 'egress'] as const) {
      for (const r of itf[d].rules) {
        const key = ruleKey(itf.network, r);
        if (rules.has(key)) touchUsers(key, (u) => u.delete(itf.key));
      }
    }
  }
  for (const itf of added) {
    for (const d of ['ingress', 'egress'] as const) {
      for (const r of itf[d].rules) touchUsers(ruleKey(itf.network, r), (u) => u.add(itf.key));
    }
  }
  for (const key of [...rules.touched()]) if (rules.get(key)?.users.size === 0) rules.delete(key);

  // The new model: the old one with removed, added and replaced interfaces.
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
  for (const i of [...replaced.values(), ...added]) byKey.set(i.key, i);
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

  const model: PolicyModel = {
    interfaces,
    byKey: byKey.finish(),
    byNetwork,
    byIp,
    policies: prev.policies,
    problems: [...next.problems, ...modelProblems],
  };
  const byPod = new MapDraft(idx.byPod);
  for (const pod of changed) byPod.delete(pod);
  for (const i of added) byPod.set(i.pod, [...(byPod.get(i.pod) ?? []), i]);
  for (const i of replaced.values())
    byPod.set(
      i.pod,
      byPod.get(i.pod)!.map((x) => (x.key === i.key ? i : x)),
    );
  // The rules with selector peers are the same keys while no rule was added (a deleted one is skipped).
  const addedRule = [...rules.touched()].some((key) => !idx.rules.has(key) && rules.has(key));
  indexes.set(model, {
    rules: rules.finish(),
    byPod: byPod.finish(),
    policiesByNs: idx.policiesByNs,
    selectorIndex: addedRule ? undefined : idx.selectorIndex,
  });
  return {
    model,
    delta: { replaced: changes },
    incremental: true,
    changedInterfaces: added.length + replaced.size,
    changedRules: replacedRules.size,
  };
}

/**
 * A key-sorted list without the `removed` keys and with `upserts` (sorted by key) in place: their
 * slots when the keys were there before (a pod changed in place: a copy and a binary search per
 * interface), merged in otherwise.
 */
function patchByKey(
  list: readonly ManagedInterface[],
  removed: ReadonlySet<string>,
  upserts: readonly ManagedInterface[],
): ManagedInterface[] {
  const replacing = new Set(upserts.map((i) => i.key));
  if ([...removed].every((k) => replacing.has(k))) {
    const out = [...list];
    let inPlace = true;
    for (const i of upserts) {
      const at = indexByKey(out, i.key);
      if (at < 0) {
        inPlace = false;
        break;
      }
      out[at] = i;
    }
    if (inPlace) return out;
  }
  const kept = list.filter((i) => !removed.has(i.key) && !replacing.has(i.key));
  return mergeByKey(
    kept,
    [...upserts].sort((a, b) => (a.key < b.key ? -1 : 1)),
  );
}

/** Index of `key` in a key-sorted list, or -1. */
function indexByKey(list: readonly ManagedInterface[], key: string): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = list[mid]!.key;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Two key-sorted lists merged into one. */
function mergeByKey(a: readonly ManagedInterface[], b: readonly ManagedInterface[]): ManagedInterface[] {
  const out: ManagedInterface[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.key < b[j]!.key)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
