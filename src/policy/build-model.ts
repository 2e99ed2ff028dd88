// ClusterSnapshot -> PolicyModel: which managed pod interfaces each policy isolates, and the
// concrete address blocks and ports each of their rules allows. Pure: the same snapshot always
// gives the same, deterministically ordered model.

import type { Problem } from '../cluster/problem.js';
import type { ClusterSnapshot, PodInfo } from '../cluster/snapshot.js';
import { NAMESPACE_NAME_LABEL } from '../cluster/build-snapshot.js';
import { canonicalIp, parseIpv4Number } from '../util/ip/index.js';
import { BlockTable, hostBlocks, ipBlockOf, type RankedBlock } from './block-table.js';
import { type LabelView, namespaceViews, podLabelViews, selectorPool } from './label-views.js';
import { normalizePolicy } from './normalize-policy.js';
import { RuleResolver } from './resolve-rule.js';
import type {
  Direction,
  DirectionPolicy,
  ManagedInterface,
  NormalizedPolicy,
  PolicyModel,
  Selector,
} from './types.js';

export interface BuildModelOptions {
  /** CNI plugin types whose networks this agent enforces (--network-plugins). */
  networkPlugins: string[];
}

const STATUS_PATH = 'metadata.annotations["k8s.v1.cni.cncf.io/network-status"]';
const POLICY_FOR_PATH = 'metadata.annotations["k8s.v1.cni.cncf.io/policy-for"]';

/** Pods that are gone (Succeeded/Failed) or share the node's network are never enforced. */
export function isLivePod(pod: PodInfo): boolean {
  return !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Networks whose CNI plugin type this agent enforces (--network-plugins). */
export function managedNetworks(snapshot: ClusterSnapshot, plugins: readonly string[]): Set<string> {
  const wanted = new Set(plugins);
  const out = new Set<string>();
  for (const [key, net] of snapshot.networks) {
    if (net.pluginType !== undefined && wanted.has(net.pluginType)) out.add(key);
  }
  return out;
}

/** One live pod's interfaces on managed networks (direction policies still empty). */
export function podInterfaces(pod: PodInfo, managed: Set<string>, problems: Problem[]): ManagedInterface[] {
  const podKey = `${pod.namespace}/${pod.name}`;
  const out = new Map<string, ManagedInterface>();
  for (const itf of pod.interfaces) {
    if (!managed.has(itf.network)) continue;
    const key = `${podKey}/${itf.network}/${itf.interface}`;
    if (out.has(key)) {
      problems.push({
        severity: 'warning',
        object: `Pod ${podKey}`,
        path: STATUS_PATH,
        message: `interface ${itf.interface} on network ${itf.network} is listed twice`,
        effect: 'the first entry is used',
      });
      continue;
    }
    const ips: string[] = [];
    for (const ip of itf.ips) {
      // Almost every pod address is IPv4 already in canonical text: read it without BigInts.
      const canonical = parseIpv4Number(ip) !== undefined ? ip : canonicalIp(ip)?.ip;
      if (canonical === undefined) {
        problems.push({
          severity: 'warning',
          object: `Pod ${podKey}`,
          path: STATUS_PATH,
          message: `address ${JSON.stringify(ip)} of ${itf.interface} is not a valid IP`,
          effect: 'the address is ignored',
        });
      } else if (!ips.includes(canonical)) {
        ips.push(canonical);
      }
    }
    const managedItf: ManagedInterface = {
      key,
      pod: podKey,
      network: itf.network,
      interface: itf.interface,
      nodeName: pod.nodeName,
      ips,
      podInfo: pod,
      ingress: { isolated: false, rules: [], policies: [] },
      egress: { isolated: false, rules: [], policies: [] },
    };
    if (itf.mac !== undefined) managedItf.mac = itf.mac;
    if (itf.pciAddress !== undefined) managedItf.pciAddress = itf.pciAddress;
    if (itf.pfPciAddress !== undefined) managedItf.pfPciAddress = itf.pfPciAddress;
    if (itf.representor !== undefined) managedItf.representor = itf.representor;
    out.set(key, managedItf);
  }
  return [...out.values()];
}

function collectInterfaces(
  snapshot: ClusterSnapshot,
  plugins: string[],
  problems: Problem[],
): ManagedInterface[] {
  const managed = managedNetworks(snapshot, plugins);
  const out: ManagedInterface[] = [];
  for (const pod of snapshot.pods) {
    if (isLivePod(pod)) out.push(...podInterfaces(pod, managed, problems));
  }
  return out.sort((a, b) => compareText(a.key, b.key));
}

/** Namespace labels as selectors see them: with the name label every namespace carries. */
export function namespaceLabelsOf(snapshot: ClusterSnapshot): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const [ns, labels] of snapshot.namespaces) out.set(ns, { ...labels, [NAMESPACE_NAME_LABEL]: ns });
  return out;
}

function indexByIp(
  interfaces: ManagedInterface[],
  problems: Problem[],
): Map<string, Map<string, ManagedInterface>> {
  const byIp = new Map<string, Map<string, ManagedInterface>>();
  for (const itf of interfaces) {
    let net = byIp.get(itf.network);
    if (!net) byIp.set(itf.network, (net = new Map()));
    for (const ip of itf.ips) {
      const owner = net.get(ip);
      if (owner) {
        problems.push({
          severity: 'warning',
          object: `Pod ${itf.pod}`,
          path: STATUS_PATH,
          message: `address ${ip} on network ${itf.network} is also used by ${owner.key}`,
          effect: `the address is attributed to ${owner.key}`,
        });
        continue;
      }
      net.set(ip, itf);
    }
  }
  return byIp;
}

/** Interns the block of every ipBlock peer, so the table can be ranked before rules resolve. */
function internIpBlocks(policies: NormalizedPolicy[], table: BlockTable): void {
  for (const p of policies) {
    for (const rule of [...p.ingressRules, ...p.egressRules]) {
      if (rule.peers.kind === 'all') continue;
      for (const peer of rule.peers.peers) if (peer.kind === 'ipBlock') ipBlockOf(peer, table);
    }
  }
}

/** Label keys a selector reads; its answer depends on nothing else. */
function selectorKeys(sel: Selector): string[] {
  return [...Object.keys(sel.matchLabels), ...sel.matchExpressions.map((e) => e.key)];
}

/** Every label key that some selector applied to pod labels reads, sorted. */
function podSelectorKeys(policies: NormalizedPolicy[]): string[] {
  const keys = new Set<string>();
  for (const p of policies) {
    for (const k of selectorKeys(p.podSelector)) keys.add(k);
    for (const rule of [...p.ingressRules, ...p.egressRules]) {
      if (rule.peers.kind === 'all') continue;
      for (const peer of rule.peers.peers) {
        if (peer.kind === 'selector' && peer.podSelector)
          for (const k of selectorKeys(peer.podSelector)) keys.add(k);
      }
    }
  }
  return [...keys].sort(compareText);
}

/**
 * Interfaces of one network and namespace whose pods share a label view: every policy question
 * (is it selected, is it a peer) has one answer for the whole group.
 */
interface LabelGroup {
  namespace: string;
  network: string;
  view: LabelView;
  interfaces: ManagedInterface[];
  /** Host blocks (/32, /128) of every address of these interfaces. */
  hosts: RankedBlock[];
}

/** network -> namespace -> label view -> group; every level in interface-key order. */
type GroupIndex = Map<string, Map<string, Map<LabelView, LabelGroup>>>;

function groupInterfaces(
  interfaces: ManagedInterface[],
  viewOf: (labels: Record<string, string>) => LabelView,
  table: BlockTable,
): GroupIndex {
  const index: GroupIndex = new Map();
  for (const itf of interfaces) {
    const pod = itf.podInfo;
    const view = viewOf(pod.labels ?? {});
    let byNs = index.get(itf.network);
    if (!byNs) index.set(itf.network, (byNs = new Map()));
    let byView = byNs.get(pod.namespace);
    if (!byView) byNs.set(pod.namespace, (byView = new Map()));
    let group = byView.get(view);
    if (!group) {
      group = { namespace: pod.namespace, network: itf.network, view, interfaces: [], hosts: [] };
      byView.set(view, group);
    }
    group.interfaces.push(itf);
    group.hosts.push(...hostBlocks(itf, table));
  }
  return index;
}

/**
 * policy-for names that no NetworkAttachmentDefinition defines. Legal (the NAD may come later),
 * but the policy then isolates nothing there: a typo or a deleted NAD must not pass unnoticed.
 */
function undefinedNetworks(policy: NormalizedPolicy, snapshot: ClusterSnapshot): Problem[] {
  return policy.networks
    .filter((n) => !snapshot.networks.has(n))
    .map((n) => ({
      severity: 'warning',
      object: `MultiNetworkPolicy ${policy.namespace}/${policy.name}`,
      path: POLICY_FOR_PATH,
      message: `names network ${n}, which no NetworkAttachmentDefinition defines`,
      effect: 'the policy applies to no pod on that network until it is defined',
    }));
}

export function buildPolicyModel(snapshot: ClusterSnapshot, opts: BuildModelOptions): PolicyModel {
  const problems: Problem[] = [...snapshot.problems];

  const policies: NormalizedPolicy[] = [];
  for (const raw of snapshot.policies) {
    const result = normalizePolicy(raw);
    policies.push(result.policy);
    problems.push(...result.problems, ...undefinedNetworks(result.policy, snapshot));
  }
  const policyKey = (p: NormalizedPolicy): string => `${p.namespace}/${p.name}`;
  policies.sort((a, b) => compareText(policyKey(a), policyKey(b)));

  const interfaces = collectInterfaces(snapshot, opts.networkPlugins, problems);
  const byKey = new Map(interfaces.map((i) => [i.key, i]));
  const byNetwork = new Map<string, ManagedInterface[]>();
  for (const i of interfaces) {
    const list = byNetwork.get(i.network);
    if (list) list.push(i);
    else byNetwork.set(i.network, [i]);
  }
  const byIp = indexByIp(interfaces, problems);
  const table = new BlockTable();
  const groups = groupInterfaces(interfaces, podLabelViews(podSelectorKeys(policies)), table);
  internIpBlocks(policies, table);
  table.rank();

  const shared = selectorPool();
  const resolver = new RuleResolver({
    table,
    namespaces: namespaceViews(namespaceLabelsOf(snapshot)),
    groupsOn: (network) => groups.get(network),
    shared,
  });

  // Policies select pods of their own namespace only: index them by namespace.
  const policiesByNs = new Map<string, { policy: NormalizedPolicy; podSelector: Selector }[]>();
  for (const policy of policies) {
    const entry = { policy, podSelector: shared(policy.podSelector) };
    const list = policiesByNs.get(policy.namespace);
    if (list) list.push(entry);
    else policiesByNs.set(policy.namespace, [entry]);
  }

  /** One answer per label group; each interface gets its own copy of the arrays. */
  const directionPolicy = (group: LabelGroup, direction: Direction): DirectionPolicy => {
    const selecting: NormalizedPolicy[] = [];
    for (const { policy: p, podSelector } of policiesByNs.get(group.namespace) ?? []) {
      if (
        p[direction] &&
        p.namespace === group.namespace &&
        p.networks.includes(group.network) &&
        group.view.matches(podSelector)
      )
        selecting.push(p);
    }
    const rules = selecting.flatMap((p) =>
      (direction === 'ingress' ? p.ingressRules : p.egressRules).map((r) =>
        resolver.resolve(r, p.namespace, group.network),
      ),
    );
    return { isolated: selecting.length > 0, rules, policies: [...new Set(selecting.map(policyKey))] };
  };
  const copyOf = (d: DirectionPolicy): DirectionPolicy => ({
    isolated: d.isolated,
    rules: [...d.rules],
    policies: [...d.policies],
  });

  for (const byNs of groups.values()) {
    for (const byView of byNs.values()) {
      for (const group of byView.values()) {
        const ingress = directionPolicy(group, 'ingress');
        const egress = directionPolicy(group, 'egress');
        for (const itf of group.interfaces) {
          itf.ingress = copyOf(ingress);
          itf.egress = copyOf(egress);
        }
      }
    }
  }

  return { interfaces, byKey, byNetwork, byIp, policies, problems };
}
