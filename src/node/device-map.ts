// Which representor carries which pod interface on one node, and which interfaces no device can
// filter (the "unenforced" list: loud, never silent). A DeviceLookup places each interface: from
// the annotations (device-info `representor-device`, the Node's uplink annotation; manifests mode)
// or from sysfs (cluster mode, or `--sysfs-root`; see sysfs-lookup.ts).

import type { NodeInfo } from '../cluster/snapshot.js';
import type { ManagedInterface, PolicyModel } from '../policy/types.js';

export interface VfAssignment {
  device: string;
  iface: ManagedInterface;
}

export interface UplinkAssignment {
  device: string;
  interfaces: ManagedInterface[];
}

/** A pod interface whose traffic in one direction no filter on this node checks. */
export interface UnenforcedInterface {
  /** ManagedInterface key. */
  key: string;
  /** "namespace/pod" */
  pod: string;
  interface: string;
  network: string;
  node: string;
  /**
   * egress: traffic the pod sends (its egress policy, and the ingress policy of the same-node pods
   * it sends to); ingress: traffic from other nodes and from outside the cluster to it.
   */
  direction: 'egress' | 'ingress';
  reason: string;
}

export interface DeviceMap {
  node: string;
  /** Sorted by device. */
  vfs: VfAssignment[];
  /** Sorted by device. */
  uplinks: UplinkAssignment[];
  /** Sorted by key, then direction. */
  unenforced: UnenforcedInterface[];
  warnings: string[];
  /** Networks with an isolated interface on the node (isolatedNetworks). */
  active: ReadonlySet<string>;
  /** Some interface on the node is ingress-isolated (ingressIsolatedHere). */
  ingressIsolated: boolean;
}

/** Where one interface's traffic can be filtered, or why it cannot. */
export type Placement = { device: string } | { missing: string };

export interface DeviceLookup {
  representor(iface: ManagedInterface): Placement;
  uplink(iface: ManagedInterface): Placement;
}

export function uplinkFor(node: NodeInfo | undefined, iface: ManagedInterface): string | undefined {
  if (!node) return undefined;
  if (iface.pfPciAddress && node.uplinks[iface.pfPciAddress]) return node.uplinks[iface.pfPciAddress];
  return node.uplinks['*'];
}

/** Manifests mode: device-info's representor-device and the Node's uplink annotation, as given. */
export function annotationLookup(nodeName: string, node: NodeInfo | undefined): DeviceLookup {
  return {
    representor: (iface) =>
      iface.representor
        ? { device: iface.representor }
        : {
            missing:
              'no VF representor: device-info has no representor-device (pass --sysfs-root to look it up in sysfs)',
          },
    uplink: (iface) => {
      const up = uplinkFor(node, iface);
      if (up) return { device: up };
      const pf = iface.pfPciAddress ? `PF ${iface.pfPciAddress}` : 'its PF';
      return {
        missing: node
          ? `no uplink representor: Node ${nodeName} names none for ${pf} in its uplink-representors annotation`
          : `no uplink representor: there is no Node object ${nodeName} with an uplink-representors annotation`,
      };
    },
  };
}

const NO_ADDRESS =
  'no address in network-status: traffic to it is told apart by destination address, from this node too';

/** Networks with an isolated interface on the node: only those need filters there. */
export function isolatedNetworks(model: PolicyModel, nodeName: string): Set<string> {
  const out = new Set<string>();
  for (const i of model.interfaces) {
    if (i.nodeName === nodeName && (i.ingress.isolated || i.egress.isolated)) out.add(i.network);
  }
  return out;
}

/**
 * Whether some interface on the node is ingress-isolated: then the VFs and the uplinks of every
 * network are filtered (each VF checks it for its pod's traffic, and the uplinks track the
 * connections those VFs will see answered).
 */
export function ingressIsolatedHere(model: PolicyModel, nodeName: string): boolean {
  return model.interfaces.some((i) => i.nodeName === nodeName && i.ingress.isolated);
}

export function buildDeviceMap(
  model: PolicyModel,
  nodeName: string,
  node: NodeInfo | undefined,
  lookup: DeviceLookup = annotationLookup(nodeName, node),
): DeviceMap {
  const warnings: string[] = [];
  const unenforced: UnenforcedInterface[] = [];
  const active = isolatedNetworks(model, nodeName);
  const ingressHere = ingressIsolatedHere(model, nodeName);
  const vfs = new Map<string, VfAssignment>();
  const uplinks = new Map<string, ManagedInterface[]>();
  const lost = (iface: ManagedInterface, direction: 'egress' | 'ingress', reason: string) => {
    // Only where it matters: egress when the pod's VF needs filters (the pod's own network is
    // isolated here, or some pod of the node is ingress-isolated), ingress when the interface is.
    const matters =
      direction === 'egress' ? active.has(iface.network) || ingressHere : iface.ingress.isolated;
    if (!matters) return;
    unenforced.push({
      key: iface.key,
      pod: iface.pod,
      interface: iface.interface,
      network: iface.network,
      node: nodeName,
      direction,
      reason,
    });
  };
  for (const iface of model.interfaces) {
    if (iface.nodeName !== nodeName) continue;
    const rep = lookup.representor(iface);
    if ('missing' in rep) {
      lost(iface, 'egress', rep.missing);
    } else if (vfs.has(rep.device)) {
      const first = vfs.get(rep.device)!.iface;
      warnings.push(
        `${iface.pod} ${iface.interface}: representor ${rep.device} is already used by ${first.pod}; keeping the first`,
      );
      lost(iface, 'egress', `representor ${rep.device} is also claimed by ${first.pod} ${first.interface}`);
    } else {
      vfs.set(rep.device, { device: rep.device, iface });
    }
    const up = lookup.uplink(iface);
    if (iface.ips.length === 0) {
      // Ingress is told apart by destination address (on the uplink and on same-node senders'
      // representors): an interface without one has no filter on traffic to it.
      lost(iface, 'ingress', NO_ADDRESS);
    } else if ('missing' in up) {
      lost(iface, 'ingress', up.missing);
    }
    if (!('missing' in up)) {
      const list = uplinks.get(up.device);
      if (list) list.push(iface);
      else uplinks.set(up.device, [iface]);
    }
  }
  for (const up of uplinks.keys()) {
    const vf = vfs.get(up);
    if (!vf) continue;
    warnings.push(`uplink ${up} is also named as a VF representor; treating it as the uplink only`);
    lost(
      vf.iface,
      'egress',
      `its representor ${up} is also the uplink, which is filtered as the uplink only`,
    );
    vfs.delete(up);
  }
  const byName = <T extends { device: string }>(a: T, b: T) =>
    a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
  unenforced.sort((a, b) =>
    a.key < b.key
      ? -1
      : a.key > b.key
        ? 1
        : a.direction < b.direction
          ? -1
          : a.direction > b.direction
            ? 1
            : 0,
  );
  return {
    node: nodeName,
    vfs: [...vfs.values()].sort(byName),
    uplinks: [...uplinks.entries()].map(([device, interfaces]) => ({ device, interfaces })).sort(byName),
    unenforced,
    warnings,
    active,
    ingressIsolated: ingressHere,
  };
}

/** What an unenforced direction leaves unfiltered. */
export function unenforcedEffect(direction: UnenforcedInterface['direction']): string {
  return direction === 'egress'
    ? 'traffic it sends is not filtered (its egress policy, and the ingress policy of same-node pods it sends to)'
    : 'traffic from other nodes and from outside to it is not filtered (its ingress policy)';
}

/** One line per unenforced direction, for logs. */
export function formatUnenforced(u: UnenforcedInterface): string {
  return `${u.pod} ${u.interface} on ${u.network} (node ${u.node}) is NOT ENFORCED: ${unenforcedEffect(u.direction)}: ${u.reason}`;
}

/**
 * The unenforced directions a flow from `src` to `dst` depends on: the source's egress, and the
 * destination's ingress when the flow comes from another node or from outside.
 */
export function unenforcedOnPath(
  unenforced: readonly UnenforcedInterface[],
  src: ManagedInterface | undefined,
  dst: ManagedInterface | undefined,
): UnenforcedInterface[] {
  return unenforced.filter(
    (u) =>
      (src !== undefined && u.key === src.key && u.direction === 'egress') ||
      (dst !== undefined &&
        u.key === dst.key &&
        u.direction === 'ingress' &&
        (src === undefined || src.nodeName !== dst.nodeName)),
  );
}
