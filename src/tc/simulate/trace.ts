// Follows one connection through every node it crosses: the source pod's VF representor, then
// (when the destination is on another node or behind another uplink) the destination node's
// uplink. The reply goes back the other way. Pure: pipelines are compiled from the model.

import type { ClusterSnapshot } from '../../cluster/snapshot.js';
import type { Flow, ManagedInterface, PolicyModel } from '../../policy/types.js';
import { buildDeviceMap, uplinkFor, type DeviceMap } from '../../node/device-map.js';
import { compileNode } from '../compile/node.js';
import type { CompileOptions } from '../compile/options.js';
import type { DevicePipeline, IpProto, NodePipeline } from '../ir.js';
import { Conntrack, type Packet, type Segment, type VlanTpid } from './packet.js';
import { simulateDevice, type DeviceResult } from './simulate.js';
import { SimulatorMemo } from './simulator-memo.js';
import { parseAddress } from '../../util/ip/index.js';

export interface Hop {
  node: string;
  device: string;
}

export interface PacketOptions {
  /** VLAN tags, outermost first (default none). */
  tags?: VlanTpid[];
  /** The flow's source port, or an echo's identifier (default 40000). */
  srcPort?: number;
  /** Default `open`. */
  segment?: Segment;
}

export interface PacketResult {
  verdict: 'allow' | 'deny';
  hops: (Hop & { result: DeviceResult })[];
}

export interface TraceResult {
  verdict: 'allow' | 'deny';
  /** Devices the first packet crossed, with what each decided. */
  forward: (Hop & { result: DeviceResult })[];
  /** The reply's path, simulated only when the first packet was allowed. */
  reply: (Hop & { result: DeviceResult })[];
  replyVerdict?: 'allow' | 'deny';
}

/** Compiles nodes on demand and keeps one conntrack table per node. */
export class ClusterSimulator {
  private pipelines = new Map<string, NodePipeline>();
  private deviceMaps = new Map<string, DeviceMap>();
  private conntracks = new Map<string, Conntrack>();
  /** What the packets learn of the devices (WeakMaps: it holds no device the simulator dropped). */
  readonly simulatorMemo = new SimulatorMemo();

  constructor(
    readonly snapshot: ClusterSnapshot,
    readonly model: PolicyModel,
    readonly opts: CompileOptions,
  ) {}

  pipeline(node: string): NodePipeline {
    let p = this.pipelines.get(node);
    if (!p) {
      p = compileNode(this.model, node, this.snapshot.nodes.get(node), this.opts);
      this.pipelines.set(node, p);
    }
    return p;
  }

  /**
   * The pipeline of `device` on `node` that `packet` meets (undefined: the node has no such
   * device). Here the whole node's; a subclass may hold only the devices it needs, or a device
   * trimmed to what the packets it will see can meet (explain --matrix).
   */
  device(node: string, device: string, packet: Omit<Packet, 'device'>): DevicePipeline | undefined {
    void packet;
    return this.pipeline(node).devices.find((d) => d.device === device);
  }

  conntrack(node: string): Conntrack {
    let c = this.conntracks.get(node);
    if (!c) {
      c = new Conntrack();
      this.conntracks.set(node, c);
    }
    return c;
  }

  resetConntrack(): void {
    this.conntracks.clear();
  }

  private vfOf(i: ManagedInterface): Hop | undefined {
    // One device map per node: a matrix traces every pair, and the map only depends on the node.
    let map = this.deviceMaps.get(i.nodeName);
    if (!map) {
      map = buildDeviceMap(this.model, i.nodeName, this.snapshot.nodes.get(i.nodeName));
      this.deviceMaps.set(i.nodeName, map);
    }
    const vf = map.vfs.find((v) => v.iface.key === i.key);
    return vf ? { node: i.nodeName, device: vf.device } : undefined;
  }

  private uplinkOf(i: ManagedInterface): Hop | undefined {
    const up = uplinkFor(this.snapshot.nodes.get(i.nodeName), i);
    return up ? { node: i.nodeName, device: up } : undefined;
  }

  /** The devices a packet from `src` to `dst` enters, in order. */
  path(src: ManagedInterface | undefined, dst: ManagedInterface | undefined): Hop[] {
    const hops: Hop[] = [];
    const srcVf = src ? this.vfOf(src) : undefined;
    if (srcVf) hops.push(srcVf);
    if (dst) {
      const sameSwitch =
        src !== undefined &&
        src.nodeName === dst.nodeName &&
        this.uplinkOf(src)?.device === this.uplinkOf(dst)?.device;
      if (!sameSwitch) {
        const up = this.uplinkOf(dst);
        if (up) hops.push(up);
      }
    }
    return hops;
  }

  private run(hops: Hop[], packet: Omit<Packet, 'device'>): (Hop & { result: DeviceResult })[] {
    const out: (Hop & { result: DeviceResult })[] = [];
    for (const h of hops) {
      const dev = this.device(h.node, h.device, packet);
      const result = dev
        ? simulateDevice(
            this.simulatorMemo,
            dev,
            { ...packet, device: h.device },
            this.conntrack(h.node),
            this.opts.ctZone,
          )
        : { device: h.device, verdict: 'pass' as const, unclassified: true, hits: [] };
      out.push({ ...h, result });
      if (result.verdict === 'drop') break;
    }
    return out;
  }

  /**
   * A packet of `flow`: `forward` from its source (port `srcPort`) to its destination, or `back`
   * from the destination to the source. An ICMP echo uses `srcPort` as its identifier; forward
   * it is a request, back a reply.
   */
  private packetOf(flow: Flow, way: 'forward' | 'back', o: Required<PacketOptions>): Omit<Packet, 'device'> {
    const fam = parseAddress(flow.srcIp)?.family ?? 4;
    const isIcmp = flow.protocol === 'ICMP' || flow.protocol === 'ICMPv6';
    const ipProto: IpProto = isIcmp
      ? flow.protocol === 'ICMP'
        ? 'icmp'
        : 'icmpv6'
      : (flow.protocol.toLowerCase() as IpProto);
    const forward = way === 'forward';
    const port = flow.port ?? 0;
    return {
      tags: o.tags,
      ethType: fam === 4 ? 'ip' : 'ipv6',
      ipProto,
      srcIp: forward ? flow.srcIp : flow.dstIp,
      dstIp: forward ? flow.dstIp : flow.srcIp,
      segment: o.segment,
      ...(isIcmp
        ? { icmpType: forward ? (fam === 4 ? 8 : 128) : fam === 4 ? 0 : 129, icmpId: o.srcPort }
        : forward
          ? { srcPort: o.srcPort, dstPort: port }
          : { srcPort: port, dstPort: o.srcPort }),
    };
  }

  private endpoints(flow: Flow): [ManagedInterface | undefined, ManagedInterface | undefined] {
    const byIp = this.model.byIp.get(flow.network);
    return [byIp?.get(flow.srcIp), byIp?.get(flow.dstIp)];
  }

  /**
   * One packet on its own, with whatever conntrack holds: `forward` from the flow's source to its
   * destination, `back` the other way (an answer such as a SYN-ACK or an echo reply when
   * `segment` is `answer`).
   */
  send(flow: Flow, way: 'forward' | 'back', opts: PacketOptions = {}): PacketResult {
    const o = { tags: opts.tags ?? [], srcPort: opts.srcPort ?? 40000, segment: opts.segment ?? 'open' };
    const [src, dst] = this.endpoints(flow);
    const hops = way === 'forward' ? this.path(src, dst) : this.path(dst, src);
    const result = this.run(hops, this.packetOf(flow, way, o));
    return { verdict: result.every((h) => h.result.verdict === 'pass') ? 'allow' : 'deny', hops: result };
  }

  /** Simulate the first packet of `flow` and, if it gets through, its reply. */
  trace(flow: Flow, tags: VlanTpid[] = [], srcPort = 40000): TraceResult {
    const first = this.send(flow, 'forward', { tags, srcPort, segment: 'open' });
    if (first.verdict === 'deny') return { verdict: 'deny', forward: first.hops, reply: [] };
    const reply = this.send(flow, 'back', { tags, srcPort, segment: 'answer' });
    return { verdict: 'allow', forward: first.hops, reply: reply.hops, replyVerdict: reply.verdict };
  }
}
