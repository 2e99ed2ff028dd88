// ClusterSnapshot -> PolicyModel: which managed pod interfaces each policy isolates, and the
// concrete address blocks and ports each of their rules allows. Pure: the same snapshot always
// gives the same, deterministically ordered model.

import type { Problem } from '../cluster/problem.js';
import type { ClusterSnapshot, PodInfo } from '../cluster/snapshot.js';
import { NAMESPACE_NAME_LABEL } from '../cluster/build-snapshot.js';
import {
  canonicalIp,
  type Cidr,
  type IpAddress,
  compareCidr,
  hostCidr,
  parseAddress,
  parseCidr,
  parseIpv4Number,
} from '../util/ip/index.js';
import { normalizePolicy } from './normalize-policy.js';
import { selectorMatches } from './selector.js';
import type {
  AddressBlock,
  Direction,
  DirectionPolicy,
  ManagedInterface,
  NormalizedPolicy,
  NormalizedRule,
  Peer,
  PolicyModel,
  ResolvedRule,
  Selector,
} from './types.js';

export interface BuildModelOptions {
  /** CNI plugin types whose networks this agent enforces (--network-plugins). */
  networkPlugins: string[];
}

type SelectorPeer = Extract<Peer, { kind: 'selector' }>;

/**
 * The key of one resolved rule of a model: a policy rule on one network. A rule resolves the same
 * way for every interface of the network; the full build and the update both find it by this key.
 */
export function ruleKey(network: string, r: { origin: ResolvedRule['origin'] }): string {
  return `${network}\n${r.origin.policy}\n${r.origin.direction}\n${r.origin.index}`;
}

const STATUS_PATH = 'metadata.annotations["k8s.v1.cni.cncf.io/network-status"]';

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

/** An address block any rule can list, with its place in the order rules list blocks. */
interface RankedBlock {
  /**
   * What rules list. Shared by every rule that lists the block: like ResolvedRules (shared by
   * every interface of a network), blocks are read-only once the model is built.
   */
  block: AddressBlock;
  exceptText: string;
  parsed: Cidr;
  /** Index in the output order; -1 until the table is ranked. */
  rank: number;
}

/**
 * Every distinct address block rules can list (pod host blocks, ipBlock peers), each parsed and
 * formatted once, then ranked once by address (compareCidr), then except text. Ordering a rule's
 * blocks is then an integer sort instead of comparing CIDRs per rule.
 */
class BlockTable {
  private readonly byId = new Map<string, RankedBlock>();
  private ordered: RankedBlock[] = [];

  /** The one block for this cidr and excepts (same text, same object). */
  intern(cidr: string, except: string[], parsed: Cidr): RankedBlock {
    const exceptText = except.join(',');
    const id = `${cidr}|${exceptText}`;
    let block = this.byId.get(id);
    if (!block)
      this.byId.set(id, (block = { block: { cidr, except: [...except] }, exceptText, parsed, rank: -1 }));
    return block;
  }

  /** Call once every block is interned. */
  rank(): void {
    this.ordered = [...this.byId.values()].sort(
      (x, y) => compareCidr(x.parsed, y.parsed) || compareText(x.exceptText, y.exceptText),
    );
    this.ordered.forEach((b, i) => (b.rank = i));
  }

  /** Blocks by rank, de-duplicated. */
  sorted(ranks: number[]): AddressBlock[] {
    const order = new Int32Array(ranks).sort();
    const out: AddressBlock[] = [];
    for (let i = 0; i < order.length; i++) {
      if (i > 0 && order[i] === order[i - 1]) continue;
      out.push((this.ordered[order[i] as number] as RankedBlock).block);
    }
    return out;
  }
}

/**
 * An ipBlock peer's block. normalizePeers writes the cidr with formatCidr, so it always parses
 * and is canonical: equal addresses have equal text.
 */
function ipBlockOf(peer: Extract<Peer, { kind: 'ipBlock' }>, table: BlockTable): RankedBlock {
  const parsed = parseCidr(peer.cidr);
  if (!parsed) throw new Error(`ipBlock cidr ${JSON.stringify(peer.cidr)} was not normalised`);
  return table.intern(peer.cidr, peer.except, parsed);
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
 * A label set as selectors see it, shared by every label set they cannot tell apart, with each
 * selector's answer remembered: many pods (and every interface of one pod) look alike.
 */
class LabelView {
  private readonly answers = new Map<Selector, boolean>();

  /** `labels`: any one of the label sets this view stands for. */
  constructor(private readonly labels: Record<string, string>) {}

  matches(sel: Selector): boolean {
    let answer = this.answers.get(sel);
    if (answer === undefined) this.answers.set(sel, (answer = selectorMatches(sel, this.labels)));
    return answer;
  }
}

/**
 * Pod label sets -> shared views. Two sets share a view when they agree on `keys` (absent or
 * value; own properties only, as selectorMatches reads them): every selector that reads only
 * those keys answers both alike.
 */
function podLabelViews(keys: string[]): (labels: Record<string, string>) => LabelView {
  const byText = new Map<string, LabelView>();
  // A pod's interfaces share its labels object: look each object up once.
  const byObject = new Map<Record<string, string>, LabelView>();
  return (labels) => {
    let view = byObject.get(labels);
    if (view) return view;
    const text = JSON.stringify(keys.map((k) => (Object.hasOwn(labels, k) ? labels[k] : null)));
    view = byText.get(text);
    if (!view) byText.set(text, (view = new LabelView(labels)));
    byObject.set(labels, view);
    return view;
  };
}

/**
 * Selectors -> one shared object per distinct content. Policies repeat selectors (`app: db` in
 * many of them), and LabelView remembers answers per selector object.
 */
function selectorPool(): (sel: Selector) => Selector {
  const byText = new Map<string, Selector>();
  return (sel) => {
    const text = JSON.stringify(sel);
    let shared = byText.get(text);
    if (!shared) byText.set(text, (shared = sel));
    return shared;
  };
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

function hostBlocks(itf: ManagedInterface, table: BlockTable): RankedBlock[] {
  const out: RankedBlock[] = [];
  for (const ip of itf.ips) {
    const addr: IpAddress | undefined = parseAddress(ip);
    if (!addr) continue;
    const cidr = hostCidr(addr);
    // `ip` is canonical text (podInterfaces), so this is formatCidr(cidr) without formatting.
    out.push(table.intern(`${ip}/${cidr.prefix}`, [], cidr));
  }
  return out;
}

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

export function buildPolicyModel(snapshot: ClusterSnapshot, opts: BuildModelOptions): PolicyModel {
  const problems: Problem[] = [...snapshot.problems];

  const policies: NormalizedPolicy[] = [];
  for (const raw of snapshot.policies) {
    const result = normalizePolicy(raw);
    policies.push(result.policy);
    problems.push(...result.problems);
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

  // One view per namespace: namespaceSelectors read the namespace's whole label set.
  const namespaceViews = new Map<string, LabelView>();
  for (const [ns, labels] of namespaceLabelsOf(snapshot)) namespaceViews.set(ns, new LabelView(labels));

  const shared = selectorPool();

  /** Does a selector peer of a policy in `policyNs` cover pods of namespace `ns`? */
  const peerCoversNamespace = (nsSelector: Selector | undefined, policyNs: string, ns: string): boolean => {
    if (!nsSelector) return ns === policyNs;
    // A pod in an unknown namespace matches no namespaceSelector, not even {}.
    return namespaceViews.get(ns)?.matches(nsSelector) ?? false;
  };

  /** Ranks of the host blocks of every interface on `network` that a selector peer selects. */
  const selectedHosts = (peer: SelectorPeer, policyNs: string, network: string, out: number[]): void => {
    const nsSelector = peer.namespaceSelector && shared(peer.namespaceSelector);
    const podSelector = peer.podSelector && shared(peer.podSelector);
    for (const [ns, byView] of groups.get(network) ?? []) {
      if (!peerCoversNamespace(nsSelector, policyNs, ns)) continue;
      for (const group of byView.values()) {
        if (!podSelector || group.view.matches(podSelector)) for (const h of group.hosts) out.push(h.rank);
      }
    }
  };

  // A rule resolves the same way for every interface of one network: resolve once.
  const resolved = new Map<string, ResolvedRule>();
  const resolveRule = (rule: NormalizedRule, policy: NormalizedPolicy, network: string): ResolvedRule => {
    const key = ruleKey(network, rule);
    const cached = resolved.get(key);
    if (cached) return cached;
    let peers: ResolvedRule['peers'];
    if (rule.peers.kind === 'all') {
      peers = { kind: 'any' };
    } else {
      const ranks: number[] = [];
      for (const peer of rule.peers.peers) {
        if (peer.kind === 'ipBlock') ranks.push(ipBlockOf(peer, table).rank);
        else selectedHosts(peer, policy.namespace, network, ranks);
      }
      peers = { kind: 'blocks', blocks: table.sorted(ranks) };
    }
    const result: ResolvedRule = { origin: rule.origin, peers, ports: rule.ports };
    resolved.set(key, result);
    return result;
  };

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
      (direction === 'ingress' ? p.ingressRules : p.egressRules).map((r) => resolveRule(r, p, group.network)),
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
