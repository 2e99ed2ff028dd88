// Compiles every representor of one node: the pure heart of the agent.
//
// `compileNode` compiles from scratch. `NodeCompiler` does the same but remembers what it built:
// devices whose inputs are the same objects as last time are returned as they were, and inside a
// changed device the parts that did not change (a VF's egress rules, an uplink's source chains)
// are replayed. The result is identical either way; only the time differs.

import type { NodeInfo } from '../cluster/snapshot.js';
import type { ManagedInterface, PolicyModel } from '../policy/types.js';
import { buildDeviceMap, type RepresentorLookup } from '../node/device-map.js';
import { CompileCache, Memo, sameInputs } from './compile-cache.js';
import { compileUplink, compileVf, uplinkDependencies, vfDependencies } from './compile-device.js';
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
  return new NodeCompiler(opts).compile(model, nodeName, node, lookup);
}

export class NodeCompiler {
  private readonly cache = new CompileCache();
  private readonly devices = new Memo<DevicePipeline>();
  /** Interfaces per network, kept as the same array while its members are the same objects. */
  private networks = new Map<string, ManagedInterface[]>();

  constructor(private readonly opts: CompileOptions) {}

  compile(
    model: PolicyModel,
    nodeName: string,
    node: NodeInfo | undefined,
    lookup?: RepresentorLookup,
  ): NodePipeline {
    const map = buildDeviceMap(model, nodeName, node, lookup);
    const warnings = [...map.warnings];
    const active = activeNetworks(model, nodeName);
    const onNetwork = this.networksOf(model);
    const localOn = (net: string) => (onNetwork.get(net) ?? []).filter((q) => q.nodeName === nodeName);
    const localByNet = new Map<string, ManagedInterface[]>();
    const devices: DevicePipeline[] = [];
    for (const vf of map.vfs) {
      const net = vf.iface.network;
      if (!localByNet.has(net)) localByNet.set(net, localOn(net));
      const input = {
        kind: 'vf' as const,
        device: vf.device,
        iface: vf.iface,
        localPeers: localByNet.get(net)!.filter((q) => q.key !== vf.iface.key),
        networkInterfaces: onNetwork.get(net) ?? [],
      };
      const isActive = active.has(net);
      const inputs = isActive ? ['active', ...vfDependencies(input)] : ['idle', vf.iface.key];
      devices.push(
        this.devices.get(`vf/${vf.device}`, inputs, () => ({
          device: vf.device,
          kind: 'vf',
          networks: [net],
          interfaces: [vf.iface.key],
          chains: isActive ? compileVf(input, this.opts, this.cache) : [],
        })),
      );
    }
    for (const up of map.uplinks) {
      const behind = up.interfaces.filter((i) => active.has(i.network));
      warnings.push(...ipClashes(behind, up.device));
      const input = { kind: 'uplink' as const, device: up.device, interfaces: behind };
      devices.push(
        this.devices.get(`uplink/${up.device}`, uplinkDependencies(input), () => ({
          device: up.device,
          kind: 'uplink',
          networks: [...new Set(behind.map((i) => i.network))].sort(),
          interfaces: behind.map((i) => i.key),
          chains:
            behind.length > 0
              ? compileUplink(
                  { kind: 'uplink', device: up.device, interfaces: behind },
                  this.opts,
                  this.cache,
                )
              : [],
        })),
      );
    }
    this.devices.sweep();
    this.cache.sweep();
    devices.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    return { node: nodeName, devices, warnings };
  }

  private networksOf(model: PolicyModel): Map<string, ManagedInterface[]> {
    const fresh = new Map<string, ManagedInterface[]>();
    for (const i of model.interfaces) {
      const list = fresh.get(i.network);
      if (list) list.push(i);
      else fresh.set(i.network, [i]);
    }
    for (const [net, list] of fresh) {
      const prev = this.networks.get(net);
      if (prev && sameInputs(prev, list)) fresh.set(net, prev);
    }
    this.networks = fresh;
    return fresh;
  }
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
