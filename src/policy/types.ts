// Normalised policy model: what a MultiNetworkPolicy means once validated.
// Invalid parts are already replaced by their closed meaning (allow nothing), so nothing
// downstream needs to know about validation.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** A compiled label selector. `null` selector fields never appear here: absent means "not set". */
export interface Selector {
  /** key -> required value */
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[];
}

/** One `ports[]` entry. */
export type PortEntry =
  /** Every port of this protocol (protocol-only entry). */
  | { kind: 'protocol'; protocol: Protocol }
  /** port..endPort inclusive (endPort = port when not a range). */
  | { kind: 'range'; protocol: Protocol; port: number; endPort: number }
  /** A named container port, resolved on the destination pod by name and protocol. */
  | { kind: 'named'; protocol: Protocol; name: string };

/** `ports` of a rule: absent/empty means every port and protocol; a list may end up empty (allows nothing). */
export type PortsSpec =
  | { kind: 'all' }
  | {
      kind: 'list';
      entries: PortEntry[];
      /**
       * The ports of a list without named ports: they do not depend on the destination pod, so
       * they are resolved once, when the list is made (listOfPorts), and every rule on every
       * network shares the one set. Absent when an entry is named.
       */
      fixed?: PortSet;
    };

/** Inclusive port range [from, to]. */
export type PortRange = [number, number];

/**
 * Ports a rule allows once named ports are resolved on the destination pod. `all` also covers
 * non-port protocols (ICMP/ICMPv6); otherwise per-protocol ranges, sorted, merged and disjoint
 * (a protocol-only entry is [[0, 65535]]). All lists empty: allows nothing.
 */
export type PortSet = { all: true } | { all: false; TCP: PortRange[]; UDP: PortRange[]; SCTP: PortRange[] };

export type Peer =
  | { kind: 'ipBlock'; cidr: string; except: string[] }
  /** podSelector and/or namespaceSelector. Absent namespaceSelector = the policy's namespace. */
  | { kind: 'selector'; podSelector?: Selector; namespaceSelector?: Selector };

/** `from`/`to` of a rule: absent/empty means every peer; a list may end up empty (allows nothing). */
export type PeersSpec = { kind: 'all' } | { kind: 'list'; peers: Peer[] };

/** The direction of a rule or a policy, seen from the pod the policy selects. */
export type Direction = 'ingress' | 'egress';

export interface RuleOrigin {
  /** "namespace/name" of the policy */
  policy: string;
  direction: Direction;
  /** index in spec.ingress / spec.egress */
  index: number;
}

export interface NormalizedRule {
  origin: RuleOrigin;
  peers: PeersSpec;
  ports: PortsSpec;
}

export interface NormalizedPolicy {
  namespace: string;
  name: string;
  /** Networks from policy-for, "namespace/name". Empty: the policy applies to nothing. */
  networks: string[];
  /**
   * The policy's own podSelector. When it is invalid, fail closed: the policy selects every pod
   * of its namespace (`{}`), `selectorInvalid` is true, and its rules contribute no allows.
   */
  podSelector: Selector;
  selectorInvalid: boolean;
  /** Effective policyTypes. */
  ingress: boolean;
  egress: boolean;
  ingressRules: NormalizedRule[];
  egressRules: NormalizedRule[];
}

// ---------------------------------------------------------------------------------------------
// Resolved model: policies applied to concrete pod interfaces. Shared by the reference verdict
// (the oracle) and the TC compiler, so both read policy meaning from one place.

/** An address peer: a CIDR minus its excepts. Pod peers become single-address blocks (/32, /128). */
export interface AddressBlock {
  cidr: string;
  except: string[];
}

export interface ResolvedRule {
  origin: RuleOrigin;
  /** `any`: every address (empty `from`/`to`). `blocks` may be empty: the rule matches nothing. */
  peers: { kind: 'any' } | { kind: 'blocks'; blocks: AddressBlock[] };
  /** Named entries are resolved later, on the destination pod (see resolvePorts). */
  ports: PortsSpec;
}

export interface DirectionPolicy {
  /** Selected by at least one policy for this network with this direction in its policyTypes. */
  isolated: boolean;
  /** Union of allow rules (only meaningful when isolated). */
  rules: ResolvedRule[];
  /** "ns/name" of every policy that selects the interface for this direction, sorted. */
  policies: string[];
}

/** A pod interface on a managed network (plugin type in --network-plugins), anywhere in the cluster. */
export interface ManagedInterface {
  /** "namespace/pod/network-namespace/network-name/ifname" — unique and stable. */
  key: string;
  /** "namespace/pod" */
  pod: string;
  network: string;
  interface: string;
  nodeName: string;
  ips: string[];
  mac?: string;
  pciAddress?: string;
  pfPciAddress?: string;
  representor?: string;
  podInfo: import('../cluster/snapshot.js').PodInfo;
  ingress: DirectionPolicy;
  egress: DirectionPolicy;
}

export interface PolicyModel {
  /** Managed interfaces sorted by key. Only live pods (not Succeeded/Failed, not hostNetwork). */
  interfaces: ManagedInterface[];
  byKey: ReadonlyMap<string, ManagedInterface>;
  /** network -> its interfaces, sorted by key (as `interfaces`). */
  byNetwork: ReadonlyMap<string, readonly ManagedInterface[]>;
  /** network -> canonical ip -> interface */
  byIp: ReadonlyMap<string, ReadonlyMap<string, ManagedInterface>>;
  policies: NormalizedPolicy[];
  problems: import('../cluster/problem.js').Problem[];
}

/**
 * How a rule that a model update replaced differs from the rule it replaced: the same peers and
 * ports except at these addresses (the changed pods'). A superset of the real difference, never less.
 */
export interface RuleChange {
  previous: ResolvedRule;
  addresses: ReadonlySet<string>;
}

/**
 * What a model update changed in the rules, beside the model itself: each rule it replaced, by its
 * replacement. The node compiler reads it to keep what it decided at other addresses. A full build
 * has an empty delta (every rule object is new, nothing to compare with).
 */
export interface ModelDelta {
  replaced: ReadonlyMap<ResolvedRule, RuleChange>;
}

/** The delta of a full build, or of no change. */
export const EMPTY_DELTA: ModelDelta = { replaced: new Map() };

export type L4Protocol = Protocol | 'ICMP' | 'ICMPv6';

/** A connection attempt, as the reference semantics sees it. */
export interface Flow {
  network: string;
  /** Source and destination addresses (same family). */
  srcIp: string;
  dstIp: string;
  protocol: L4Protocol;
  /** Destination port for TCP/UDP/SCTP. */
  port?: number;
}

export interface DirectionVerdict {
  /** false when the endpoint is not a managed interface or not isolated in this direction */
  isolated: boolean;
  allowed: boolean;
  /** Rules that allowed it (empty when denied or unisolated). */
  allowedBy: RuleOrigin[];
}

export interface Verdict {
  verdict: 'allow' | 'deny';
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  reason: string;
}
