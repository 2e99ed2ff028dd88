// ClusterSnapshot -> PolicyModel: which managed pod interfaces each policy isolates, and the
// concrete address blocks and ports each of their rules allows. Pure: the same snapshot always
// gives the same, deterministically ordered model.

import type { Problem } from '../cluster/problem.js';
import type { ClusterSnapshot, PodInfo } from '../cluster/snapshot.js';
import { canonicalIpText, compareCidr, formatCidr, hostCidr, parseCidr, parseIp } from './cidr.js';
import { normalizePolicy } from './normalize-policy.js';
import { selectorMatches } from './selector.js';
import type {
  AddressBlock,
  DirectionPolicy,
  ManagedInterface,
  NormalizedPolicy,
  NormalizedRule,
  Peer,
  PolicyModel,
  ResolvedRule,
} from './types.js';

export interface BuildModelOptions {
  /** CNI plugin types whose networks this agent enforces (--network-plugins). */
  networkPlugins: string[];
}

type Direction = 'ingress' | 'egress';

/** Label every namespace carries in a real cluster; added here so manifests need not spell it out. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const STATUS_PATH = 'metadata.annotations["k8s.v1.cni.cncf.io/network-status"]';

/** Pods that are gone (Succeeded/Failed) or share the node's network are never enforced. */
function isLivePod(pod: PodInfo): boolean {
  return !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function collectInterfaces(
  snapshot: ClusterSnapshot,
  plugins: Set<string>,
  problems: Problem[],
): ManagedInterface[] {
  const managedNetworks = new Set<string>();
  for (const [key, net] of snapshot.networks) {
    if (net.pluginType !== undefined && plugins.has(net.pluginType)) managedNetworks.add(key);
  }
  const out = new Map<string, ManagedInterface>();
  for (const pod of snapshot.pods) {
    if (!isLivePod(pod)) continue;
    const podKey = `${pod.namespace}/${pod.name}`;
    for (const itf of pod.interfaces) {
      if (!managedNetworks.has(itf.network)) continue;
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
        const canonical = canonicalIpText(ip);
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
      const managed: ManagedInterface = {
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
      if (itf.mac !== undefined) managed.mac = itf.mac;
      if (itf.pciAddress !== undefined) managed.pciAddress = itf.pciAddress;
      if (itf.pfPciAddress !== undefined) managed.pfPciAddress = itf.pfPciAddress;
      if (itf.representor !== undefined) managed.representor = itf.representor;
      out.set(key, managed);
    }
  }
  return [...out.values()].sort((a, b) => compareText(a.key, b.key));
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

/** Sorted by address, de-duplicated. */
function sortBlocks(blocks: AddressBlock[]): AddressBlock[] {
  const unique = new Map<string, AddressBlock>();
  for (const b of blocks) unique.set(`${b.cidr}|${b.except.join(',')}`, b);
  const parsed = [...unique.values()].map((b) => ({ b, c: parseCidr(b.cidr) }));
  parsed.sort((x, y) => {
    if (x.c && y.c) return compareCidr(x.c, y.c) || compareText(x.b.except.join(','), y.b.except.join(','));
    return compareText(x.b.cidr, y.b.cidr);
  });
  return parsed.map((x) => x.b);
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

  const interfaces = collectInterfaces(snapshot, new Set(opts.networkPlugins), problems);
  const byKey = new Map(interfaces.map((i) => [i.key, i]));
  const byIp = indexByIp(interfaces, problems);
  const onNetwork = new Map<string, ManagedInterface[]>();
  for (const itf of interfaces) {
    const list = onNetwork.get(itf.network);
    if (list) list.push(itf);
    else onNetwork.set(itf.network, [itf]);
  }

  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const [ns, labels] of snapshot.namespaces) {
    namespaceLabels.set(ns, { ...labels, [NAMESPACE_NAME_LABEL]: ns });
  }

  /** Does a selector peer of a policy in `policyNs` select this interface's pod? */
  const peerSelects = (
    peer: Extract<Peer, { kind: 'selector' }>,
    policyNs: string,
    itf: ManagedInterface,
  ): boolean => {
    const pod = itf.podInfo;
    if (peer.namespaceSelector) {
      const nsLabels = namespaceLabels.get(pod.namespace);
      // A pod in an unknown namespace matches no namespaceSelector, not even {}.
      if (!nsLabels || !selectorMatches(peer.namespaceSelector, nsLabels)) return false;
    } else if (pod.namespace !== policyNs) {
      return false;
    }
    return !peer.podSelector || selectorMatches(peer.podSelector, pod.labels ?? {});
  };

  // A rule resolves the same way for every interface of one network: resolve once.
  const resolved = new Map<string, ResolvedRule>();
  const resolveRule = (rule: NormalizedRule, policy: NormalizedPolicy, network: string): ResolvedRule => {
    const cacheKey = `${network}\n${rule.origin.policy}\n${rule.origin.direction}\n${rule.origin.index}`;
    const cached = resolved.get(cacheKey);
    if (cached) return cached;
    let peers: ResolvedRule['peers'];
    if (rule.peers.kind === 'all') {
      peers = { kind: 'any' };
    } else {
      const blocks: AddressBlock[] = [];
      for (const peer of rule.peers.peers) {
        if (peer.kind === 'ipBlock') {
          blocks.push({ cidr: peer.cidr, except: [...peer.except] });
          continue;
        }
        for (const itf of onNetwork.get(network) ?? []) {
          if (!peerSelects(peer, policy.namespace, itf)) continue;
          for (const ip of itf.ips) {
            const addr = parseIp(ip);
            if (addr) blocks.push({ cidr: formatCidr(hostCidr(addr)), except: [] });
          }
        }
      }
      peers = { kind: 'blocks', blocks: sortBlocks(blocks) };
    }
    const result: ResolvedRule = { origin: rule.origin, peers, ports: rule.ports };
    resolved.set(cacheKey, result);
    return result;
  };

  // Policies select pods of their own namespace only: index them by namespace.
  const policiesByNs = new Map<string, NormalizedPolicy[]>();
  for (const p of policies) {
    const list = policiesByNs.get(p.namespace);
    if (list) list.push(p);
    else policiesByNs.set(p.namespace, [p]);
  }

  const directionPolicy = (itf: ManagedInterface, direction: Direction): DirectionPolicy => {
    const pod = itf.podInfo;
    const selecting = (policiesByNs.get(pod.namespace) ?? []).filter(
      (p) =>
        p[direction] &&
        p.namespace === pod.namespace &&
        p.networks.includes(itf.network) &&
        selectorMatches(p.podSelector, pod.labels ?? {}),
    );
    const rules = selecting.flatMap((p) =>
      (direction === 'ingress' ? p.ingressRules : p.egressRules).map((r) => resolveRule(r, p, itf.network)),
    );
    return { isolated: selecting.length > 0, rules, policies: [...new Set(selecting.map(policyKey))] };
  };

  for (const itf of interfaces) {
    itf.ingress = directionPolicy(itf, 'ingress');
    itf.egress = directionPolicy(itf, 'egress');
  }

  return { interfaces, byKey, byIp, policies, problems };
}
