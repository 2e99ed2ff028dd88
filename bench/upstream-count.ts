// Upstream multi-networkpolicy-tc's exact filter count for one egress interface, for side-by-side
// comparison (upstream cannot be built offline; see
// the project's shared reference digest of upstream (shared/reference/upstream-multi-networkpolicy-tc.md), sections 2 and 7).
//
// Upstream programs one stateless rule list in chain 0 of each VF representor, for the pod's
// EGRESS only. This module rebuilds that rule list from the raw MultiNetworkPolicies in our
// ClusterSnapshot (not from our PolicyModel, whose semantics differ on purpose) and the pod
// interfaces of our PolicyModel (for addresses), then expands it into upstream's filters and counts
// the distinct ones:
//
// Which policies apply (upstream PolicyAppliesForPod + NetworkListFromPolicy):
//   - same namespace as the pod, `policy-for` lists the interface's network (spaces stripped,
//     split on ",", bare names prefixed with the policy namespace, exact compare), and the policy's
//     podSelector matches the pod's labels;
//   - `policyTypes` is IGNORED: any such policy counts, an Ingress-only one included (it then
//     contributes no rules but still switches on the 4 default drops);
//   - selectors go through metav1.LabelSelectorAsMap: matchLabels plus `In` with exactly one value;
//     any other expression is an error. An erroring policy podSelector makes the policy skip the
//     pod; an erroring peer selector makes the peer contribute nothing.
// If no policy applies: 0 filters (upstream flushes chain 0).
//
// Otherwise 4 default drops (ip, ipv6, 802.1q+ip, 802.1q+ipv6) plus, per renderer Rule with C
// CIDRs/IPs and P surviving ports:
//     C>0,P>0: 2·C·P   C>0,P=0: 2·C   C=0,P>0: 4·P   C=0,P=0: 4
// (each CIDR filter exists untagged and as 802.1q/vlan_ethtype; a port-only filter exists for
// ip, ipv6 and both 802.1q variants). The Rules of each `spec.egress[]` entry are:
//   - each ipBlock peer: Pass over its CIDR, plus Drop over all of its excepts when it has any
//     (an invalid CIDR drops the peer; invalid excepts are skipped);
//   - each selector peer (podSelector and/or namespaceSelector): Pass over the /32 or /128 of every
//     matching pod's IPs on the same network, emitted only if there are IPs OR ports (so a
//     selector that matches nothing but has ports allows those ports everywhere);
//   - a peer with neither: skipped; a rule with an empty or absent `to`: one Pass with no IPs.
//   Each Rule carries the entry's surviving ports: protocol TCP (the default) or UDP, with a
//   numeric `port` (an integer, or a string strconv.ParseUint(s, 0, 16) accepts). Named ports,
//   SCTP and protocol-only entries are skipped, and `endPort` is ignored (port only).
// Pass filters sit at prio 200/201/202 (ip/ipv6/802.1q), drops at 100/101/102, defaults 300-302.
// Rules of all applying policies are concatenated; the kernel ends up with the deduplicated set
// (upstream's FilterSet compares protocol, prio, flower keys and actions, not handles), so the
// count here is the size of the set of canonical filter keys.
//
// Simplification: peer pods are our model's managed interfaces (live pods on managed networks),
// where upstream takes Running pods with PCI device-info; for the benchmark clusters they agree.

import type { ClusterSnapshot } from '../src/cluster/snapshot.js';
import { formatCidr, parseCidr } from '../src/util/ip/index.js';
import type { ManagedInterface, PolicyModel } from '../src/policy/types.js';

type Labels = Record<string, string>;
type Family = 4 | 6;

interface UpRule {
  action: 'pass' | 'drop';
  cidrs: { family: Family; text: string }[];
  ports: { protocol: 'tcp' | 'udp'; port: number }[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** metav1.LabelSelectorAsMap: undefined when the selector cannot be expressed as a map. */
function selectorAsMap(sel: unknown): Labels | undefined {
  if (sel === undefined || sel === null) return {};
  if (!isRecord(sel)) return undefined;
  const out: Labels = {};
  if (isRecord(sel.matchLabels)) {
    for (const [k, v] of Object.entries(sel.matchLabels)) out[k] = String(v);
  }
  if (Array.isArray(sel.matchExpressions)) {
    for (const e of sel.matchExpressions) {
      if (!isRecord(e) || e.operator !== 'In' || !Array.isArray(e.values) || e.values.length !== 1) {
        return undefined;
      }
      out[String(e.key)] = String(e.values[0]);
    }
  }
  return out;
}

function mapMatches(sel: Labels, labels: Labels): boolean {
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** utils.NetworkListFromPolicy. */
function policyNetworks(policy: { metadata: { namespace?: string; annotations?: unknown } }): string[] {
  const ns = policy.metadata.namespace ?? 'default';
  const ann = isRecord(policy.metadata.annotations) ? policy.metadata.annotations : {};
  const v = ann['k8s.v1.cni.cncf.io/policy-for'];
  if (typeof v !== 'string') return [];
  return v
    .replace(/\s+/g, '')
    .split(',')
    .filter((s) => s !== '')
    .map((s) => (s.includes('/') ? s : `${ns}/${s}`));
}

/** strconv.ParseUint(s, 0, 16). */
function parseUint16(s: string): number | undefined {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[bB][01]+$/.test(s)) v = parseInt(s.slice(2), 2);
  else if (/^0[oO][0-7]+$/.test(s)) v = parseInt(s.slice(2), 8);
  else if (/^0[0-7]+$/.test(s)) v = parseInt(s.slice(1), 8);
  else if (/^(0|[1-9]\d*)$/.test(s)) v = Number(s);
  else return undefined;
  return v <= 65535 ? v : undefined;
}

function survivingPorts(raw: unknown): UpRule['ports'] {
  if (!Array.isArray(raw)) return [];
  const out: UpRule['ports'] = [];
  for (const e of raw) {
    if (!isRecord(e)) continue;
    const proto = e.protocol === undefined || e.protocol === null ? 'TCP' : e.protocol;
    if (proto !== 'TCP' && proto !== 'UDP') continue;
    let port: number | undefined;
    if (typeof e.port === 'number' && Number.isInteger(e.port) && e.port >= 0 && e.port <= 65535)
      port = e.port;
    else if (typeof e.port === 'string') port = parseUint16(e.port);
    if (port === undefined) continue;
    out.push({ protocol: proto === 'TCP' ? 'tcp' : 'udp', port });
  }
  return out;
}

function cidrOf(text: unknown): { family: Family; text: string } | undefined {
  if (typeof text !== 'string') return undefined;
  const c = parseCidr(text);
  return c ? { family: c.family, text: formatCidr(c) } : undefined;
}

/** The renderer's Rules for one interface, or undefined when no policy selects it (0 filters). */
export function upstreamRules(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  iface: ManagedInterface,
): UpRule[] | undefined {
  const pod = iface.podInfo;
  const podsOnNet = model.interfaces.filter((i) => i.network === iface.network);
  let selected = false;
  const rules: UpRule[] = [];
  for (const p of snapshot.policies) {
    const ns = p.metadata.namespace ?? 'default';
    if (ns !== pod.namespace || !policyNetworks(p).includes(iface.network)) continue;
    const spec: Record<string, unknown> = isRecord(p.spec) ? p.spec : {};
    const podSel = selectorAsMap(spec.podSelector);
    if (!podSel || !mapMatches(podSel, pod.labels)) continue;
    selected = true;
    const egress = Array.isArray(spec.egress) ? spec.egress : [];
    for (const rule of egress) {
      const r: Record<string, unknown> = isRecord(rule) ? rule : {};
      const ports = survivingPorts(r.ports);
      const to = Array.isArray(r.to) ? r.to : [];
      if (to.length === 0) {
        rules.push({ action: 'pass', cidrs: [], ports });
        continue;
      }
      for (const peer of to) {
        if (!isRecord(peer)) continue;
        if (isRecord(peer.ipBlock)) {
          const cidr = cidrOf(peer.ipBlock.cidr);
          if (!cidr) continue;
          rules.push({ action: 'pass', cidrs: [cidr], ports });
          const except = Array.isArray(peer.ipBlock.except) ? peer.ipBlock.except : [];
          const excepts = except.map(cidrOf).filter((x) => x !== undefined);
          if (excepts.length > 0) rules.push({ action: 'drop', cidrs: excepts, ports });
          continue;
        }
        const hasPod = peer.podSelector !== undefined && peer.podSelector !== null;
        const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
        if (!hasPod && !hasNs) continue;
        const podMap = selectorAsMap(peer.podSelector);
        const nsMap = hasNs ? selectorAsMap(peer.namespaceSelector) : {};
        if (!podMap || !nsMap) continue;
        const cidrs: UpRule['cidrs'] = [];
        for (const q of podsOnNet) {
          const qpod = q.podInfo;
          if (hasNs) {
            if (!mapMatches(nsMap, snapshot.namespaces.get(qpod.namespace) ?? {})) continue;
          } else if (qpod.namespace !== ns) continue;
          if (!mapMatches(podMap, qpod.labels)) continue;
          for (const ip of q.ips) {
            const fam: Family = ip.includes(':') ? 6 : 4;
            cidrs.push({ family: fam, text: `${ip}/${fam === 4 ? 32 : 128}` });
          }
        }
        if (cidrs.length > 0 || ports.length > 0) rules.push({ action: 'pass', cidrs, ports });
      }
    }
  }
  return selected ? rules : undefined;
}

/** Canonical keys of upstream's filters for one Rule list (before deduplication). */
export function upstreamFilters(rules: UpRule[]): string[] {
  const out = ['ip|300|||||drop', 'ipv6|301|||||drop', '802.1q|302|ip||||drop', '802.1q|302|ipv6||||drop'];
  for (const r of rules) {
    const base = r.action === 'pass' ? 200 : 100;
    const untagged = (f: Family) => `${f === 4 ? 'ip' : 'ipv6'}|${base + (f === 4 ? 0 : 1)}|`;
    const tagged = (f: Family) => `802.1q|${base + 2}|${f === 4 ? 'ip' : 'ipv6'}`;
    const keys = (proto: string, ip: string, port: string) => `|${proto}|${ip}|${port}|${r.action}`;
    if (r.cidrs.length > 0) {
      for (const c of r.cidrs) {
        if (r.ports.length > 0) {
          for (const p of r.ports) {
            out.push(untagged(c.family) + keys(p.protocol, c.text, `${p.port}`));
            out.push(tagged(c.family) + keys(p.protocol, c.text, `${p.port}`));
          }
        } else {
          out.push(untagged(c.family) + keys('', c.text, ''));
          out.push(tagged(c.family) + keys('', c.text, ''));
        }
      }
    } else if (r.ports.length > 0) {
      for (const p of r.ports) {
        for (const f of [4, 6] as const) {
          out.push(untagged(f) + keys(p.protocol, '', `${p.port}`));
          out.push(tagged(f) + keys(p.protocol, '', `${p.port}`));
        }
      }
    } else {
      for (const f of [4, 6] as const) {
        out.push(untagged(f) + keys('', '', ''));
        out.push(tagged(f) + keys('', '', ''));
      }
    }
  }
  return out;
}

/** Upstream's kernel filter count on the VF representor of `iface` (its egress). */
export function upstreamFilterCount(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  iface: ManagedInterface,
): number {
  const rules = upstreamRules(snapshot, model, iface);
  return rules === undefined ? 0 : new Set(upstreamFilters(rules)).size;
}
