// Raw Kubernetes object shapes, as they arrive from the API server or a manifests file.
// Only the fields this agent reads are typed; everything else passes through untouched.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface MultiNetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface MultiNetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface MultiNetworkPolicyIngressRule {
  ports?: MultiNetworkPolicyPort[];
  from?: MultiNetworkPolicyPeer[];
}

export interface MultiNetworkPolicyEgressRule {
  ports?: MultiNetworkPolicyPort[];
  to?: MultiNetworkPolicyPeer[];
}

export interface MultiNetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: MultiNetworkPolicyIngressRule[];
  egress?: MultiNetworkPolicyEgressRule[];
}

export interface MultiNetworkPolicy {
  apiVersion: string;
  kind: 'MultiNetworkPolicy';
  metadata: ObjectMeta;
  spec: MultiNetworkPolicySpec;
}

export interface NetworkAttachmentDefinition {
  apiVersion: string;
  kind: 'NetworkAttachmentDefinition';
  metadata: ObjectMeta;
  spec?: { config?: string };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface Pod {
  apiVersion: string;
  kind: 'Pod';
  metadata: ObjectMeta;
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    containers?: { name: string; ports?: ContainerPort[] }[];
    initContainers?: { name: string; ports?: ContainerPort[] }[];
  };
  status?: { phase?: string };
}

export interface Namespace {
  apiVersion: string;
  kind: 'Namespace';
  metadata: ObjectMeta;
}

export interface Node {
  apiVersion: string;
  kind: 'Node';
  metadata: ObjectMeta;
}

export type KubeObject = MultiNetworkPolicy | NetworkAttachmentDefinition | Pod | Namespace | Node;

/** Well-known annotation keys. */
export const ANNOTATION = {
  networks: 'k8s.v1.cni.cncf.io/networks',
  networkStatus: 'k8s.v1.cni.cncf.io/network-status',
  networkStatusDeprecated: 'k8s.v1.cni.cncf.io/networks-status',
  policyFor: 'k8s.v1.cni.cncf.io/policy-for',
  /**
   * Project-specific, on a Node object in a manifests directory: the node's uplink representors.
   * Either one netdev name for every PF ("p0"), or "PF-PCI=netdev" pairs separated by commas.
   * On a live node the sysfs resolver finds them instead.
   */
  uplinkRepresentors: 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors',
} as const;
