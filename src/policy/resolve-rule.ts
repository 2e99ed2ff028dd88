// One policy rule on one network -> its ResolvedRule: the address blocks its peers allow. The
// full build (build-model.ts) and the incremental update (update-model.ts) both resolve rules
// here, each over its own view of the network's pods, so that the two cannot drift apart.

import { type BlockTable, ipBlockOf, type RankedBlock } from './block-table.js';
import type { LabelView, SelectorPool } from './label-views.js';
import type { NormalizedRule, Peer, ResolvedRule, Selector } from './types.js';

export type SelectorPeer = Extract<Peer, { kind: 'selector' }>;

/**
 * The key of one resolved rule of a model: a policy rule on one network. A rule resolves the same
 * way for every interface of the network; the full build and the update both find it by this key.
 */
export function ruleKey(network: string, r: { origin: ResolvedRule['origin'] }): string {
  return `${network}\n${r.origin.policy}\n${r.origin.direction}\n${r.origin.index}`;
}

/** Does a selector peer of a policy in `policyNs` cover pods of namespace `ns`? */
export function peerCoversNamespace(
  nsSelector: Selector | undefined,
  policyNs: string,
  ns: string,
  namespaces: ReadonlyMap<string, LabelView>,
): boolean {
  if (!nsSelector) return ns === policyNs;
  // A pod in an unknown namespace matches no namespaceSelector, not even {}.
  return namespaces.get(ns)?.matches(nsSelector) ?? false;
}

/** Does a selector peer of a policy in `policyNs` select a pod of namespace `ns` with these labels? */
export function peerSelects(
  peer: SelectorPeer,
  policyNs: string,
  ns: string,
  pod: LabelView,
  namespaces: ReadonlyMap<string, LabelView>,
): boolean {
  return (
    peerCoversNamespace(peer.namespaceSelector, policyNs, ns, namespaces) &&
    (!peer.podSelector || pod.matches(peer.podSelector))
  );
}

/** Interfaces of one network and namespace whose pods every selector answers alike. */
export interface PeerGroup {
  readonly view: LabelView;
  /** Host blocks (/32, /128) of every address of these interfaces. */
  readonly hosts: readonly RankedBlock[];
}

/** What selector peers are resolved against: the pods of a network, and the namespaces. */
export interface PeerSources {
  /** Interns every block a rule lists (the ipBlocks, and the groups' hosts). */
  table: BlockTable;
  /** Namespace name -> its labels (with the name label). */
  namespaces: ReadonlyMap<string, LabelView>;
  /** The network's interfaces: namespace -> groups (any key). */
  groupsOn(network: string): ReadonlyMap<string, ReadonlyMap<unknown, PeerGroup>> | undefined;
  /** Selectors as the views remember their answers (one object per distinct selector). */
  shared: SelectorPool;
}

/** Resolves rules against one set of sources, each rule key once. */
export class RuleResolver {
  private readonly resolved = new Map<string, ResolvedRule>();

  constructor(private readonly sources: PeerSources) {}

  resolve(rule: NormalizedRule, policyNs: string, network: string): ResolvedRule {
    const key = ruleKey(network, rule);
    const cached = this.resolved.get(key);
    if (cached) return cached;
    let peers: ResolvedRule['peers'];
    if (rule.peers.kind === 'all') {
      peers = { kind: 'any' };
    } else {
      const blocks: RankedBlock[] = [];
      for (const peer of rule.peers.peers) {
        if (peer.kind === 'ipBlock') blocks.push(ipBlockOf(peer, this.sources.table));
        else this.selectedHosts(peer, policyNs, network, blocks);
      }
      peers = { kind: 'blocks', blocks: this.sources.table.sorted(blocks) };
    }
    const result: ResolvedRule = { origin: rule.origin, peers, ports: rule.ports };
    this.resolved.set(key, result);
    return result;
  }

  /** The host blocks of every interface on `network` that a selector peer selects. */
  private selectedHosts(peer: SelectorPeer, policyNs: string, network: string, out: RankedBlock[]): void {
    const { namespaces, shared } = this.sources;
    const nsSelector = peer.namespaceSelector && shared(peer.namespaceSelector);
    const podSelector = peer.podSelector && shared(peer.podSelector);
    for (const [ns, groups] of this.sources.groupsOn(network) ?? []) {
      if (!peerCoversNamespace(nsSelector, policyNs, ns, namespaces)) continue;
      for (const group of groups.values()) {
        if (!podSelector || group.view.matches(podSelector)) for (const h of group.hosts) out.push(h);
      }
    }
  }
}
