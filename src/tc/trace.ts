// Follows one connection through every node it crosses: the source pod's VF representor, then
// (when the destination is on another node or behind another uplink) the destination node's
// uplink. The reply goes back the other way. Pure: pipelines are compiled from the model.

import type { ClusterSnapshot } from '../cluster/snapshot.js';
import type { Flow, ManagedInterface, PolicyModel } from '../policy/types.js';
import { buildDeviceMap, uplinkFor, type DeviceMap } from '../node/device-map.js';
import { compileNode } from './compile-node.js';
import type { CompileOptions } from './compile-options.js';
import type { IpProto, NodePipeline } from './ir.js';
import { Conntrack, type Packet, type VlanTpid } from './packet.js';
import { simulateDevice, type DeviceResult } from './simulate.js';
import { parseAddress } from './address-space.js';

export interface Hop {
  node: string;
  device: string;
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
      const dev = this.pipeline(h.node).devices.find((d) => d.device === h.device);
      const result = dev
        ? simulateDevice(dev, { ...packet, device: h.device }, this.conntrack(h.node))
        : { device: h.device, verdict: 'pass' as const, unclassified: true, hits: [] };
      out.push({ ...h, result });
      if (result.verdict === 'drop') break;
    }
    return out;
  }

  /** Simulate the first packet of `flow` and, if it gets through, its reply. */
  trace(flow: Flow, tags: VlanTpid[] = [], srcPort = 40000): TraceResult {
    const byIp = this.model.byIp.get(flow.network);
    const src = byIp?.get(flow.srcIp);
    const dst = byIp?.get(flow.dstIp);
    const fam = parseAddress(flow.srcIp)?.family ?? 4;
    const ipProto: IpProto =
      flow.protocol === 'ICMP'
        ? 'icmp'
        : flow.protocol === 'ICMPv6'
          ? 'icmpv6'
          : (flow.protocol.toLowerCase() as IpProto);
    const isIcmp = flow.protocol === 'ICMP' || flow.protocol === 'ICMPv6';
    const base = {
      tags,
      ethType: fam === 4 ? ('ip' as const) : ('ipv6' as const),
      ipProto,
    };
    const fwdPacket = {
      ...base,
      srcIp: flow.srcIp,
      dstIp: flow.dstIp,
      ...(isIcmp ? { icmpType: fam === 4 ? 8 : 128 } : { srcPort, dstPort: flow.port ?? 0 }),
    };
    const forward = this.run(this.path(src, dst), fwdPacket);
    const ok = forward.every((h) => h.result.verdict === 'pass');
    if (!ok) return { verdict: 'deny', forward, reply: [] };
    const replyPacket = {
      ...base,
      srcIp: flow.dstIp,
      dstIp: flow.srcIp,
      ...(isIcmp ? { icmpType: fam === 4 ? 0 : 129 } : { srcPort: flow.port ?? 0, dstPort: srcPort }),
    };
    const reply = this.run(this.path(dst, src), replyPacket);
    const replyOk = reply.every((h) => h.result.verdict === 'pass');
    return { verdict: 'allow', forward, reply, replyVerdict: replyOk ? 'allow' : 'deny' };
  }
}
