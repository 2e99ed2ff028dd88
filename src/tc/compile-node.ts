// Compiles every representor of one node: the pure heart of the agent.

import type { NodeInfo } from '../cluster/snapshot.js';
import type { ManagedInterface, PolicyModel } from '../policy/types.js';
import { buildDeviceMap, type RepresentorLookup } from '../node/device-map.js';
import { compileUplink, compileVf } from './compile-device.js';
import type { CompileOptions } from './compile-options.js';
import type { DevicePipeline, NodePipeline } from './ir.js';

/** A network needs filtering on a node when some interface of it on that node is isolated. */
export function activeNetworks(model: PolicyModel, nodeName: string): Set<string> {
  const out = new Set<string>();
  for (const i of model.interfaces) {
    if (i.nodeName === nodeName && (i.ingress.isolated || i.egress.isolated)) out.add(i.network);
  }
  return out;
}

export function compileNode(
  model: PolicyModel,
  nodeName: string,
  node: NodeInfo | undefined,
  opts: CompileOptions,
  lookup?: RepresentorLookup,
): NodePipeline {
  const map = buildDeviceMap(model, nodeName, node, lookup);
  const warnings = [...map.warnings];
  const active = activeNetworks(model, nodeName);
  const onNetwork = new Map<string, ManagedInterface[]>();
  for (const i of model.interfaces) {
    const list = onNetwork.get(i.network);
    if (list) list.push(i);
    else onNetwork.set(i.network, [i]);
  }
  const devices: DevicePipeline[] = [];
  for (const vf of map.vfs) {
    const net = vf.iface.network;
    const all = onNetwork.get(net) ?? [];
    devices.push({
      device: vf.device,
      kind: 'vf',
      networks: [net],
      interfaces: [vf.iface.key],
      chains: active.has(net)
        ? compileVf(
            {
              kind: 'vf',
              device: vf.device,
              iface: vf.iface,
              localPeers: all.filter((q) => q.nodeName === nodeName && q.key !== vf.iface.key),
              networkInterfaces: all,
            },
            opts,
          )
        : [],
    });
  }
  for (const up of map.uplinks) {
    const behind = up.interfaces.filter((i) => active.has(i.network));
    warnings.push(...ipClashes(behind, up.device));
    devices.push({
      device: up.device,
      kind: 'uplink',
      networks: [...new Set(behind.map((i) => i.network))].sort(),
      interfaces: behind.map((i) => i.key),
      chains:
        behind.length > 0
          ? compileUplink({ kind: 'uplink', device: up.device, interfaces: behind }, opts)
          : [],
    });
  }
  devices.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  return { node: nodeName, devices, warnings };
}

/** An uplink tells destinations apart by address; two networks reusing an address there collide. */
function ipClashes(ifaces: ManagedInterface[], device: string): string[] {
  const seen = new Map<string, ManagedInterface>();
  const out: string[] = [];
  for (const i of ifaces) {
    for (const ip of i.ips) {
      const prev = seen.get(ip);
      if (prev && prev.network !== i.network) {
        out.push(
          `uplink ${device}: ${ip} is used by ${prev.pod} on ${prev.network} and ${i.pod} on ${i.network}; new connections from outside to it are dropped`,
        );
      }
      seen.set(ip, i);
    }
  }
  return out;
}
