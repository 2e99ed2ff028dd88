// What the incremental update (update-model.ts) knows about a model beyond its public fields:
// every resolved rule with the interfaces that use it, the interfaces per pod, and which rules a
// changed pod can be selected by. A full build's model is indexed on its first update; an update
// hands the index of its model on to the next one.

import type { PodInfo } from '../cluster/snapshot.js';
import { ruleKey, type SelectorPeer } from './resolve-rule.js';
import type {
  Direction,
  ManagedInterface,
  NormalizedPolicy,
  NormalizedRule,
  PolicyModel,
  ResolvedRule,
} from './types.js';

/** One resolved rule of the model: a policy rule on one network, and who uses it. */
export interface RuleEntry {
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
export interface ModelIndex {
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
export interface SelectorIndex {
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

export function selectorIndexOf(idx: ModelIndex): Map<string, SelectorIndex> {
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
export function candidateKeys(index: SelectorIndex, pods: readonly PodInfo[]): string[] {
  const at = new Set(index.always);
  for (const pod of pods) {
    for (const c of podConditions(pod)) for (const i of index.byCondition.get(c) ?? []) at.add(i);
  }
  return [...at].sort((a, b) => a - b).map((i) => index.keys[i]!);
}

export function selectorPeers(rule: NormalizedRule): SelectorPeer[] {
  return rule.peers.kind === 'all'
    ? []
    : rule.peers.peers.filter((p): p is SelectorPeer => p.kind === 'selector');
}

export function policyKey(p: NormalizedPolicy): string {
  return `${p.namespace}/${p.name}`;
}

export function rulesOf(p: NormalizedPolicy, d: Direction): NormalizedRule[] {
  return d === 'ingress' ? p.ingressRules : p.egressRules;
}

/** The index of a model the update did not make (a full build's): built from its public fields. */
function indexModel(model: PolicyModel): ModelIndex {
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
  return { rules, byPod, policiesByNs };
}

/**
 * The indexes of the models an updater has seen, weakly: a model's index lives as long as the
 * model. Owned by whoever updates models one after the other (updatePolicyModel's caller).
 */
export class ModelIndexes {
  private readonly known = new WeakMap<PolicyModel, ModelIndex>();

  of(model: PolicyModel): ModelIndex {
    let index = this.known.get(model);
    if (!index) this.known.set(model, (index = indexModel(model)));
    return index;
  }

  set(model: PolicyModel, index: ModelIndex): void {
    this.known.set(model, index);
  }
}
