// Which representor carries which pod interface on one node. Until the sysfs resolver finds them
// on a live node, representors come from network-status device-info (`representor-device`) and
// uplinks from the Node object's uplink annotation.

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

export interface DeviceMap {
  node: string;
  /** Sorted by device. */
  vfs: VfAssignment[];
  /** Sorted by device. */
  uplinks: UplinkAssignment[];
  warnings: string[];
}

/** Resolves a VF interface to its representor; the default reads device-info. */
export type RepresentorLookup = (iface: ManagedInterface) => string | undefined;

export const representorFromDeviceInfo: RepresentorLookup = (iface) => iface.representor;

export function uplinkFor(node: NodeInfo | undefined, iface: ManagedInterface): string | undefined {
  if (!node) return undefined;
  if (iface.pfPciAddress && node.uplinks[iface.pfPciAddress]) return node.uplinks[iface.pfPciAddress];
  return node.uplinks['*'];
}

export function buildDeviceMap(
  model: PolicyModel,
  nodeName: string,
  node: NodeInfo | undefined,
  lookup: RepresentorLookup = representorFromDeviceInfo,
): DeviceMap {
  const warnings: string[] = [];
  const vfs = new Map<string, VfAssignment>();
  const uplinks = new Map<string, ManagedInterface[]>();
  for (const iface of model.interfaces) {
    if (iface.nodeName !== nodeName) continue;
    const rep = lookup(iface);
    if (!rep) {
      warnings.push(
        `${iface.pod} ${iface.interface} on ${iface.network}: no VF representor known; traffic it sends is not filtered on this node`,
      );
    } else if (vfs.has(rep)) {
      warnings.push(
        `${iface.pod} ${iface.interface}: representor ${rep} is already used by ${vfs.get(rep)!.iface.pod}; keeping the first`,
      );
    } else {
      vfs.set(rep, { device: rep, iface });
    }
    const up = uplinkFor(node, iface);
    if (!up) {
      warnings.push(
        `${iface.pod} ${iface.interface} on ${iface.network}: no uplink representor known; traffic from outside the node to it is not filtered`,
      );
    } else {
      const list = uplinks.get(up);
      if (list) list.push(iface);
      else uplinks.set(up, [iface]);
    }
  }
  for (const up of uplinks.keys()) {
    if (vfs.has(up))
      warnings.push(`uplink ${up} is also named as a VF representor; treating it as the uplink only`);
  }
  for (const up of uplinks.keys()) vfs.delete(up);
  const byName = <T extends { device: string }>(a: T, b: T) =>
    a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
  return {
    node: nodeName,
    vfs: [...vfs.values()].sort(byName),
    uplinks: [...uplinks.entries()].map(([device, interfaces]) => ({ device, interfaces })).sort(byName),
    warnings,
  };
}
