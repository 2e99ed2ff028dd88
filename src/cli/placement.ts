// Shared by the commands: where each node's pod interfaces are filtered. With `--sysfs-root`, the
// node named by --hostname-override is read from sysfs (troubleshooting a real node from a
// directory of manifests); every other node, and every node without the flag, from the
// annotations. Also lists, for every node, the pod interfaces that nothing filters.

import type { ClusterSnapshot } from '../cluster/snapshot.js';
import { buildPolicyModel } from '../policy/build-model.js';
import type { PolicyModel } from '../policy/types.js';
import { buildDeviceMap, type DeviceLookup, type UnenforcedInterface } from '../node/device-map.js';
import { annotationSource, sysfsSource, withSysfsDevices } from '../node/device-source.js';
import { hostSysFs } from '../node/sysfs.js';
import { log } from '../util/log.js';

export interface Placed {
  snapshot: ClusterSnapshot;
  model: PolicyModel;
  /** The lookup for one node (sysfs for the local node when --sysfs-root is given). */
  lookupFor(node: string): DeviceLookup;
  /** Every node's unenforced pod interfaces. */
  unenforced: UnenforcedInterface[];
}

export function placeDevices(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  networkPlugins: string[],
  opts: { sysfsRoot?: string; node?: string },
): Placed {
  const annotations = annotationSource();
  let sysfs: DeviceLookup | undefined;
  if (opts.sysfsRoot !== undefined && opts.node !== undefined) {
    const source = sysfsSource(hostSysFs(opts.sysfsRoot), opts.node);
    const placement = source.place(model, opts.node, snapshot.nodes.get(opts.node));
    for (const w of placement.warnings) log.warn(w);
    sysfs = placement.lookup;
    snapshot = withSysfsDevices(snapshot, model, opts.node, placement.resolution!);
    model = buildPolicyModel(snapshot, { networkPlugins });
  }
  const lookupFor = (node: string): DeviceLookup =>
    node === opts.node && sysfs ? sysfs : annotations.place(model, node, snapshot.nodes.get(node)).lookup;
  const nodes = [...new Set(model.interfaces.map((i) => i.nodeName).filter((n) => n !== ''))].sort();
  const unenforced = nodes.flatMap(
    (n) => buildDeviceMap(model, n, snapshot.nodes.get(n), lookupFor(n)).unenforced,
  );
  return { snapshot, model, lookupFor, unenforced };
}
