// Compiles every representor of one node: the pure heart of the agent.
//
// `compileNode` compiles from scratch, with a fresh cache that shares parts between the devices
// of the compile; `compileNodeWithoutReuse` shares nothing and is the caches' baseline.
// `NodeCompiler` does the same but remembers what it built: devices whose inputs are the same
// objects as last time are returned as they were, and inside a changed device the parts that did
// not change (egress parts, pair decisions, source chains, blocks of address maps, override
// filters, sorted chains) are reused (see reuse/ and docs/tc-rule-pipeline.md §7). The result is
// identical either way; only the time differs. What the compiler remembers about model objects
// is in a CompileMemo with an owner: a fresh one per call of compileNode (so that a from-scratch
// compile shares nothing with any other), the NodeCompiler's for its lifetime, or the caller's
// (compileNodeDevices).

import type { NodeInfo } from '../../cluster/snapshot.js';
import type { ManagedInterface, ModelDelta, PolicyModel } from '../../policy/types.js';
import { buildDeviceMap, type DeviceLookup } from '../../node/device-map.js';
import { CompileCache } from './reuse/compile-cache.js';
import { Memo } from './reuse/memo.js';
import { sameIps } from './reuse/same-inputs.js';
import { buildUplink, prepareUplink } from './devices/uplink.js';
import { buildVf, prepareVf } from './devices/vf.js';
import type { CompileOptions } from './options.js';
import { CompileMemo } from './reuse/compile-memo.js';
import { joinLocals, type JoinedLocals, localNetwork, type LocalNetwork } from './local-interfaces.js';
import { sharedConntrackWarnings } from './shared-conntrack.js';
import type { DeviceKind, DevicePipeline, NodePipeline } from '../ir.js';

export function compileNode(
  model: PolicyModel,
  nodeName: string,
  node: NodeInfo | undefined,
  opts: CompileOptions,
  lookup?: DeviceLookup,
): NodePipeline {
  return new NodeCompiler(opts).compile(model, nodeName, node, lookup);
}

/**
 * compileNode without a CompileCache: every part of every device is built afresh, even where
 * devices of the node could share it (VFs with equal egress rules each build their egress part).
 * The same output as compileNode, in about twice its time on the bench cluster: the baseline
 * that the caches are property-tested against (test/unit/tc/compile-without-reuse.test.ts).
 */
export function compileNodeWithoutReuse(
  model: PolicyModel,
  nodeName: string,
  node: NodeInfo | undefined,
  opts: CompileOptions,
  lookup?: DeviceLookup,
): NodePipeline {
  return new NodeCompiler(opts, new CompileMemo(), false).compile(model, nodeName, node, lookup);
}

/** Chooses the devices of a subset compile (compileNodeDevices), by kind and representor name. */
export type WantedDevice = (device: { kind: DeviceKind; device: string }) => boolean;

/**
 * Only the devices of the node that `wanted` chooses, each exactly as compileNode builds it (the
 * same code path, skipping the others): for a reader that needs a few devices of a large node,
 * such as `explain --matrix`. Warnings and `unenforced` are the node's, but for an uplink's
 * address clashes, reported only when that uplink is compiled. `memo`: the caller's, to share
 * what is remembered between calls (a fresh one by default).
 */
export function compileNodeDevices(
  model: PolicyModel,
  nodeName: string,
  node: NodeInfo | undefined,
  opts: CompileOptions,
  wanted: WantedDevice,
  lookup?: DeviceLookup,
  memo: CompileMemo = new CompileMemo(),
): NodePipeline {
  return new NodeCompiler(opts, memo).compile(model, nodeName, node, lookup, wanted);
}

export class NodeCompiler {
  /** What the last compile built, for the next one (none: every part is built afresh). */
  private readonly cache: CompileCache | undefined;
  private readonly devices = new Memo<DevicePipeline>();
  /** Interfaces per network as named ports read them (see networksOf). */
  private networks = new Map<string, readonly ManagedInterface[]>();
  /** The node's own interfaces per network, as the last compile saw them (see localNetwork). */
  private locals = new Map<string, LocalNetwork>();
  /** The same, of every network joined (see joinLocals). */
  private joined: JoinedLocals | undefined;
  /** The last sharedConntrackWarnings and the network lists they were read from. */
  private conntrack: { lists: (readonly ManagedInterface[])[]; warnings: string[] } | undefined;

  /** Spread into every device: skip_sw under --offload=require, nothing by default. */
  private readonly skipSw: { skipSw?: true };

  /**
   * `memo`: kept for the compiler's lifetime (its own by default). `reuse`: keep a CompileCache
   * between compiles (and share parts between the devices of one compile); false for
   * compileNodeWithoutReuse.
   */
  constructor(
    private readonly opts: CompileOptions,
    private readonly memo: CompileMemo = new CompileMemo(),
    reuse = true,
  ) {
    this.skipSw = opts.offload === 'require' ? { skipSw: true } : {};
    this.cache = reuse ? new CompileCache() : undefined;
  }

  /**
   * `wanted`: compile only those devices (see compileNodeDevices); default every one. `delta`:
   * the rules the update that made `model` replaced, and every update's since the last compile
   * (see NodePipelineBuilder); none after a full build. The caches compare the model's rules with
   * the last compile's, and reuse what was decided at addresses where the delta says they agree.
   */
  compile(
    model: PolicyModel,
    nodeName: string,
    node: NodeInfo | undefined,
    lookup?: DeviceLookup,
    wanted?: WantedDevice,
    delta?: ModelDelta,
  ): NodePipeline {
    this.memo.record(delta);
    const map = buildDeviceMap(model, nodeName, node, lookup);
    const warnings = [...map.warnings];
    // A pod isolated for ingress is checked on every VF of the node, whatever its network (two
    // networks can share L2): then every network's VFs and uplink addresses are filtered.
    const filtered = (net: string) => map.ingressIsolated || map.active.has(net);
    const { current, stable } = this.networksOf(model);
    warnings.push(...this.sharedConntrack(current, nodeName));
    // Every VF checks the ingress of the node's interfaces of every network (see local-interfaces.ts).
    let joined: JoinedLocals | undefined;
    const devices: DevicePipeline[] = [];
    for (const vf of map.vfs) {
      if (wanted && !wanted({ kind: 'vf', device: vf.device })) continue;
      const net = vf.iface.network;
      joined ??= this.joinedLocals(current, nodeName);
      const input = {
        kind: 'vf' as const,
        device: vf.device,
        iface: vf.iface,
        localPeers:
          joined.peers.get(vf.iface.key) ?? joined.local.filter((iface) => iface.key !== vf.iface.key),
        peersSince: joined.since.get(vf.iface.key),
        networkInterfaces: stable.get(net) ?? [],
        sharing: joined.sharing,
        memo: this.memo,
      };
      const prepared = filtered(net) ? prepareVf(input, this.cache) : undefined;
      const inputs = prepared ? ['active', ...prepared.deps] : ['idle', vf.iface.key];
      devices.push(
        this.devices.get(`vf/${vf.device}`, inputs, () => ({
          device: vf.device,
          kind: 'vf',
          networks: [net],
          interfaces: [vf.iface.key],
          chains: prepared ? buildVf(prepared, this.opts) : [],
          ...this.skipSw,
        })),
      );
    }
    for (const up of map.uplinks) {
      if (wanted && !wanted({ kind: 'uplink', device: up.device })) continue;
      const behind = up.interfaces.filter((i) => filtered(i.network));
      warnings.push(...ipClashes(behind, up.device));
      const prepared = prepareUplink(
        { kind: 'uplink', device: up.device, interfaces: behind, memo: this.memo },
        this.cache,
      );
      devices.push(
        this.devices.get(`uplink/${up.device}`, prepared.deps, () => ({
          device: up.device,
          kind: 'uplink',
          networks: [...new Set(behind.map((i) => i.network))].sort(),
          interfaces: behind.map((i) => i.key),
          chains: behind.length > 0 ? buildUplink(prepared, this.opts) : [],
          ...this.skipSw,
        })),
      );
    }
    this.devices.sweep();
    this.cache?.sweep();
    devices.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    return { node: nodeName, devices, warnings, unenforced: map.unenforced };
  }

  /** sharedConntrackWarnings, read again only when a network's list of interfaces changed. */
  private sharedConntrack(
    current: ReadonlyMap<string, readonly ManagedInterface[]>,
    nodeName: string,
  ): string[] {
    const lists = [...current.values()];
    const last = this.conntrack;
    if (last && last.lists.length === lists.length && last.lists.every((l, i) => l === lists[i]))
      return last.warnings;
    const warnings = sharedConntrackWarnings(current, nodeName, this.opts.ctZone);
    this.conntrack = { lists, warnings };
    return warnings;
  }

  /** The node's interfaces of every managed network, each network's patched from the last compile's. */
  private joinedLocals(
    current: ReadonlyMap<string, readonly ManagedInterface[]>,
    nodeName: string,
  ): JoinedLocals {
    // In name order, so that an updated model joins them as a fresh one does.
    const nets = [...current.keys()].sort();
    const bases = nets.map((net) => this.locals.get(net));
    const parts = nets.map((net, i) => localNetwork(this.memo, current.get(net)!, nodeName, bases[i]));
    this.locals = new Map(nets.map((net, i) => [net, parts[i]!]));
    this.joined = joinLocals(this.memo, parts, bases, this.joined);
    return this.joined;
  }

  /**
   * Interfaces per network: `current` as the model has them, and `stable` for named-port
   * resolution, which reads only their key, addresses and named ports: the previous array is kept
   * while those are the same, so that what depends on it is reused.
   */
  private networksOf(model: PolicyModel): {
    current: ReadonlyMap<string, readonly ManagedInterface[]>;
    stable: Map<string, readonly ManagedInterface[]>;
  } {
    const current = model.byNetwork;
    const stable = new Map<string, readonly ManagedInterface[]>();
    for (const [net, list] of current) {
      const prev = this.networks.get(net);
      const same =
        prev !== undefined &&
        (prev === list ||
          (prev.length === list.length &&
            prev.every(
              (p, i) =>
                p === list[i] ||
                (p.key === list[i]!.key &&
                  sameIps(p.ips, list[i]!.ips) &&
                  this.memo.namedPortsKey(p.podInfo) === this.memo.namedPortsKey(list[i]!.podInfo)),
            )));
      stable.set(net, same ? prev : list);
    }
    this.networks = stable;
    return { current, stable };
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
