// The in-memory cluster model. The manifests loader and the Kubernetes watcher both fill it;
// everything downstream (policy, node, tc) reads only this.

import type { MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Node, Pod } from './objects.js';
import type { Problem } from './problem.js';

/** One pod interface, read from the pod's network-status annotation. */
export interface PodInterface {
  /** NAD reference as "namespace/name" (the network-status `name`, namespace-qualified). */
  network: string;
  /** Interface name in the pod, e.g. "net1". */
  interface: string;
  /** Canonical addresses without prefix length ("10.0.0.5", "fd00::5"). */
  ips: string[];
  /** Lower-case MAC, when network-status has one. */
  mac?: string;
  /** device-info.pci.pci-address (the VF), when present. */
  pciAddress?: string;
  /** device-info.pci.pf-pci-address, when present. */
  pfPciAddress?: string;
  /** device-info.pci.representor-device, when present. */
  representor?: string;
}

export interface NamedPort {
  name: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** A pod as the policy engine sees it. */
export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  nodeName: string;
  hostNetwork: boolean;
  /** Pod phase; "Succeeded"/"Failed" pods are gone. */
  phase: string;
  /** Container ports that have a name (for named-port resolution). */
  namedPorts: NamedPort[];
  /** Interfaces from network-status (empty if absent or malformed; see problems). */
  interfaces: PodInterface[];
}

export interface NetworkInfo {
  /** "namespace/name" */
  key: string;
  /** CNI type from config.type, or plugins[0].type of a conflist; undefined if unreadable. */
  pluginType?: string;
}

export interface NodeInfo {
  name: string;
  /** PF PCI address -> uplink representor netdev; key "*" applies to every PF. */
  uplinks: Record<string, string>;
}

/**
 * Everything the agent knows about the cluster at one instant.
 * Raw objects are kept (validated against the CRD schema) so semantics can read them;
 * pods, namespaces, networks and nodes are also kept in parsed form.
 */
export interface ClusterSnapshot {
  policies: MultiNetworkPolicy[];
  namespaces: Map<string, Record<string, string>>;
  pods: PodInfo[];
  networks: Map<string, NetworkInfo>;
  nodes: Map<string, NodeInfo>;
  /** Problems found while reading: invalid objects, malformed annotations. Never fatal. */
  problems: Problem[];
  /** Raw objects by kind, for tools that need them (explain, events). */
  raw?: {
    pods: Pod[];
    namespaces: Namespace[];
    nads: NetworkAttachmentDefinition[];
    nodes: Node[];
  };
  /**
   * Where each object was defined, by its description ("Pod app/web-1" -> "pods.yaml#3"), for
   * objects read from files; the problems the policy engine finds later are named with it.
   */
  objectSources?: ReadonlyMap<string, string>;
}
