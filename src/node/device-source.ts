// Which resolver places a node's pod interfaces: sysfs for the node the agent (or the CLI with
// `--sysfs-root`) runs on, in cluster mode or when `--sysfs-root` is given; the annotations
// (device-info, the Node's uplink annotation) otherwise, and always for other nodes.

import type { ClusterSnapshot, NodeInfo, PodInfo } from '../cluster/snapshot.js';
import type { PolicyModel } from '../policy/types.js';
import { annotationLookup, type DeviceLookup } from './device-map.js';
import { SysfsDiscovery, sysfsLookup, type NodeResolution } from './sysfs-lookup.js';
import type { SysFs } from './sysfs.js';

export interface NodePlacement {
  lookup: DeviceLookup;
  /** Disagreements with sysfs; empty for annotations. */
  warnings: string[];
  /** The sysfs readings, when sysfs placed the node. */
  resolution?: NodeResolution;
}

export interface DeviceSource {
  readonly kind: 'annotations' | 'sysfs';
  place(model: PolicyModel, nodeName: string, node: NodeInfo | undefined): NodePlacement;
  /** Drop cached sysfs readings (a link changed). */
  invalidate(): void;
}

export function annotationSource(): DeviceSource {
  return {
    kind: 'annotations',
    place: (_model, nodeName, node) => ({ lookup: annotationLookup(nodeName, node), warnings: [] }),
    invalidate: () => {},
  };
}

/** sysfs (through `fs`) for `localNode`, annotations for every other node. */
export function sysfsSource(fs: SysFs, localNode: string): DeviceSource & { discovery: SysfsDiscovery } {
  const discovery = new SysfsDiscovery(fs);
  return {
    kind: 'sysfs',
    discovery,
    place(model, nodeName, node) {
      if (nodeName !== localNode) return { lookup: annotationLookup(nodeName, node), warnings: [] };
      const local = model.interfaces.filter((i) => i.nodeName === nodeName);
      const resolution = discovery.resolve(local, node);
      return { lookup: sysfsLookup(resolution), warnings: resolution.warnings, resolution };
    },
    invalidate: () => discovery.invalidate(),
  };
}

/**
 * The snapshot with one node's devices as sysfs found them: its pods' representors and PFs, and
 * the node's uplinks per PF. For the tools that read devices from the snapshot (explain's cluster
 * simulator); the agent and `render` pass the lookup to the compiler instead.
 */
export function withSysfsDevices(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  nodeName: string,
  resolution: NodeResolution,
): ClusterSnapshot {
  const byIface = new Map<string, { representor?: string; pf?: string }>();
  const uplinks: Record<string, string> = {};
  for (const i of model.interfaces) {
    const r = resolution.byKey.get(i.key);
    if (i.nodeName !== nodeName || !r) continue;
    byIface.set(`${i.pod}|${i.network}|${i.interface}`, {
      ...(r.representor ? { representor: r.representor } : {}),
      ...(r.pf ? { pf: r.pf } : {}),
    });
    if (r.pf && r.uplink) uplinks[r.pf] = r.uplink;
  }
  const pods = snapshot.pods.map((p): PodInfo => {
    if (p.nodeName !== nodeName) return p;
    const interfaces = p.interfaces.map((pi) => {
      const found = byIface.get(`${p.namespace}/${p.name}|${pi.network}|${pi.interface}`);
      if (!found) return pi;
      const { representor: _hint, pfPciAddress: _pf, ...rest } = pi;
      return {
        ...rest,
        ...(found.pf ? { pfPciAddress: found.pf } : {}),
        ...(found.representor ? { representor: found.representor } : {}),
      };
    });
    return { ...p, interfaces };
  });
  const nodes = new Map(snapshot.nodes);
  nodes.set(nodeName, { name: nodeName, uplinks });
  return { ...snapshot, pods, nodes };
}
