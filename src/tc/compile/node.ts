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
import { buildDeviceMap, isolatedNetworks, type DeviceLookup } from '../../node/device-map.js';
import { CompileCache } from './reuse/compile-cache.js';
import { Memo } from './reuse/memo.js';
import { sameIps } from './reuse/same-inputs.js';
import { sharingAddresses } from './decisions/interface-addresses.js';
import { buildUplink, prepareUplink } from './devices/uplink.js';
import type { PeersSince } from './devices/vf-types.js';
import { buildVf, prepareVf } from './devices/vf.js';
import type { CompileOptions } from './options.js';
import { CompileMemo } from './reuse/compile-memo.js';
import type { DeviceKind, DevicePipeline, NodePipeline } from '../ir.js';

/** A network needs filtering on a node when some interface of it on that node is isolated. */
export function activeNetworks(model: PolicyModel, nodeName: string): Set<string> {
  return isolatedNetworks(model, nodeName);
}

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
    const active = activeNetworks(model, nodeName);
    const { current, stable } = this.networksOf(model);
    const locals = new Map<string, LocalNetwork>();
    const devices: DevicePipeline[] = [];
    for (const vf of map.vfs) {
      if (wanted && !wanted({ kind: 'vf', device: vf.device })) continue;
      const net = vf.iface.network;
      let local = locals.get(net);
      if (!local) {
        local = localNetwork(this.memo, current.get(net) ?? [], nodeName, this.locals.get(net));
        locals.set(net, local);
      }
      const input = {
        kind: 'vf' as const,
        device: vf.device,
        iface: vf.iface,
        localPeers:
          local.peers.get(vf.iface.key) ?? local.local.filter((iface) => iface.key !== vf.iface.key),
        peersSince: local.since.get(vf.iface.key),
        networkInterfaces: stable.get(net) ?? [],
        sharing: local.sharing,
        memo: this.memo,
      };
      const prepared = active.has(net) ? prepareVf(input, this.cache) : undefined;
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
      const behind = up.interfaces.filter((i) => active.has(i.network));
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
    this.locals = locals;
    this.devices.sweep();
    this.cache?.sweep();
    devices.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    return { node: nodeName, devices, warnings, unenforced: map.unenforced };
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

/** The interfaces of one network on this node, and each one's peers (the others, in order). */
interface LocalNetwork {
  /** The model's list of the network's interfaces this was taken from. */
  all: readonly ManagedInterface[];
  local: ManagedInterface[];
  /** Per position in `all`, the position in `local` (-1: on another node). */
  localAt: Int32Array;
  sharing: ReadonlySet<ManagedInterface>;
  peers: Map<string, ManagedInterface[]>;
  /** Peers that were patched from the last compile's (see VfDeviceInput.peersSince). */
  since: Map<string, PeersSince>;
}

/**
 * The network's interfaces on this node. When the network's list differs from the last one only
 * by interfaces replaced under the same keys on the same nodes (a pod changed), the last local
 * list and peers are copied with those replaced, instead of filtering the list again (and each
 * interface's peers again).
 */
function localNetwork(
  memo: CompileMemo,
  all: readonly ManagedInterface[],
  nodeName: string,
  prev: LocalNetwork | undefined,
): LocalNetwork {
  if (prev?.all === all) return prev;
  const patched = prev && replacedLocals(all, nodeName, prev);
  if (!patched) {
    const localAt = new Int32Array(all.length).fill(-1);
    const local: ManagedInterface[] = [];
    all.forEach((iface, i) => {
      if (iface.nodeName === nodeName) localAt[i] = local.push(iface) - 1;
    });
    const peers = new Map(local.map((iface) => [iface.key, local.filter((p) => p.key !== iface.key)]));
    return { all, local, localAt, sharing: sharingAddresses(memo, local), peers, since: new Map() };
  }
  // Written field by field, as below: one object shape for every LocalNetwork.
  if (patched.length === 0) {
    const { local, localAt, sharing, peers } = prev;
    return { all, local, localAt, sharing, peers, since: new Map() };
  }
  const local = prev.local.slice();
  for (const { at, iface } of patched) local[at] = iface;
  const peers = new Map<string, ManagedInterface[]>();
  const since = new Map<string, PeersSince>();
  local.forEach((iface, self) => {
    // The peers skip the interface itself: positions after it move down by one.
    const last = prev.peers.get(iface.key)!;
    const list = last.slice();
    const changed: number[] = [];
    for (const { at } of patched) {
      if (at === self) continue;
      const i = at < self ? at : at - 1;
      list[i] = local[at]!;
      changed.push(i);
    }
    peers.set(iface.key, list);
    since.set(iface.key, { peers: last, changed });
  });
  return { all, local, localAt: prev.localAt, sharing: sharingAddresses(memo, local), peers, since };
}

/**
 * The local interfaces that replaced others (at their position in the last local list), when
 * `all` differs from the last list only by interfaces replaced under the same keys, on the same
 * nodes; else undefined.
 */
function replacedLocals(
  all: readonly ManagedInterface[],
  nodeName: string,
  prev: LocalNetwork,
): { at: number; iface: ManagedInterface }[] | undefined {
  if (all.length !== prev.all.length) return undefined;
  const out: { at: number; iface: ManagedInterface }[] = [];
  for (let i = 0; i < all.length; i++) {
    const iface = all[i]!;
    const p = prev.all[i]!;
    if (iface === p) continue;
    const at = prev.localAt[i]!;
    if (iface.key !== p.key || (iface.nodeName === nodeName) !== at >= 0) return undefined;
    if (at >= 0) out.push({ at, iface });
  }
  return out;
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
