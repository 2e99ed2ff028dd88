// The simulation behind `explain --matrix`: the cell of one source and destination, and the
// device pipelines a matrix needs, compiled device by device (compileNodeDevices) and held within
// a filter budget, least recently used dropped first.

import type { L4Protocol, ManagedInterface, PolicyModel } from '../policy/types.js';
import type { ClusterSnapshot } from '../cluster/snapshot.js';
import { ClusterSimulator } from '../tc/simulate/trace.js';
import { compileNodeDevices } from '../tc/compile/node.js';
import { CompileMemo } from '../tc/compile/reuse/compile-memo.js';
import type { DevicePipeline } from '../tc/ir.js';
import type { Packet, VlanTpid } from '../tc/simulate/packet.js';
import { deviceForDestinations } from '../tc/simulate/simulate.js';
import type { CompileOptions } from '../tc/compile/options.js';
import { parseAddress } from '../util/ip/index.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { unenforcedOnPath, uplinkFor, type UnenforcedInterface } from '../node/device-map.js';

/** What a matrix is of: a protocol and port on one network, optionally narrowed. */
export interface MatrixArgs {
  protocol: L4Protocol;
  port?: number;
  network?: string;
  family?: 4 | 6;
  tags?: VlanTpid[];
  /** Rows: only pod interfaces of these namespaces (default every one). */
  fromNamespaces?: readonly string[];
  /** Columns: only pod interfaces of these namespaces (default every one). */
  toNamespaces?: readonly string[];
}

/** Sources traced together: the first batches small (a first row soon), then larger ones. */
export const FIRST_BATCH = 8;
export const LARGEST_BATCH = 128;

/**
 * Filters of device pipelines held for the whole matrix, least recently used dropped first
 * (about 300-400 bytes each: some 90 MB). A whole uplink at 5,000 pods is about 30k filters.
 */
export const HELD_FILTERS = 120_000;

/**
 * Filters compiled between two forced collections: a compile leaves some two to four times its
 * device's size as garbage, which V8 otherwise lets the heap grow for (to 420 MiB RSS with a
 * collection after each uplink only, at 5,000 pods).
 */
const COMPILED_BETWEEN_COLLECTIONS = 40_000;

/** Knobs for tests: a small budget makes the matrix compile devices again and again. */
export interface MatrixTuning {
  heldFilters?: number;
}

/** One cell: 0 none (same pod, or no address family in common), 1 allow, 2 deny, 3 allow, unfiltered. */
export function cellOf(
  sim: ClusterSimulator,
  network: string,
  s: ManagedInterface,
  d: ManagedInterface,
  args: MatrixArgs,
  unenforced: readonly UnenforcedInterface[],
): number {
  if (s.pod === d.pod) return 0;
  const fam = args.family ?? ([4, 6] as const).find((f) => hasFamily(s, f) && hasFamily(d, f));
  if (!fam || !hasFamily(s, fam) || !hasFamily(d, fam)) return 0;
  sim.resetConntrack();
  const t = sim.trace(
    {
      network,
      srcIp: s.ips.find((x) => parseAddress(x)?.family === fam)!,
      dstIp: d.ips.find((x) => parseAddress(x)?.family === fam)!,
      protocol: args.protocol,
      ...(args.port !== undefined ? { port: args.port } : {}),
    },
    args.tags ?? [],
  );
  if (t.verdict !== 'allow' || t.replyVerdict !== 'allow') return 2;
  return unenforcedOnPath(unenforced, s, d).length > 0 ? 3 : 1;
}

/**
 * A full garbage collection, for a MatrixSimulator to call once compiles that built
 * COMPILED_BETWEEN_COLLECTIONS filters have returned: all but the part kept is garbage (an
 * uplink's compile alone leaves 10-40 MB at 5,000 pods). Collected then, the heap stays near what
 * is kept; left to V8, it grew past 1.8 GB over the batches' repeated compiles (before the matrix
 * compiled single devices). V8 offers it only with --expose-gc; the flag set at run time applies
 * to contexts created afterwards, so the function is taken from a new one, at the first call.
 */
export function fullCollector(): () => void {
  let gc: (() => void) | undefined;
  return () => {
    if (!gc) {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
    gc();
  };
}

function filterCount(d: DevicePipeline): number {
  return d.chains.reduce((m, c) => m + c.filters.length, 0);
}

/** Device pipelines by key, the least recently used dropped once their filters pass `limit`. */
class HeldDevices {
  private readonly held = new Map<string, { device: DevicePipeline; filters: number }>();
  private filters = 0;

  constructor(private readonly limit: number) {}

  get(key: string): DevicePipeline | undefined {
    const e = this.held.get(key);
    if (!e) return undefined;
    // Map order is insertion order: moved to the end, the first entry is the least recent.
    this.held.delete(key);
    this.held.set(key, e);
    return e.device;
  }

  set(key: string, device: DevicePipeline): void {
    const old = this.held.get(key);
    if (old) {
      this.filters -= old.filters;
      this.held.delete(key);
    }
    const filters = filterCount(device);
    this.held.set(key, { device, filters });
    this.filters += filters;
    for (const [k, e] of this.held) {
      if (this.filters <= this.limit || k === key) break;
      this.held.delete(k);
      this.filters -= e.filters;
    }
  }
}

/**
 * A ClusterSimulator for a matrix, with bounded memory: a whole 5,000-pod cluster compiled is
 * some 40 MB per node, and one node's uplink alone 10 MB. A cell (s, d) crosses s's VF and d's
 * uplink, and for the reply d's VF and s's uplink; only those devices are compiled
 * (compileNodeDevices), and held within HELD_FILTERS, least recently used dropped first.
 *
 * An uplink is used reduced to the destinations its packets can have (deviceForDestinations):
 * a packet to one of the current batch's rows (a reply, or a first packet to a row that is also
 * a column) meets the uplink reduced to the batch's rows behind it, built once per batch; any
 * other the uplink reduced to the table's columns behind it, held. Narrowed to a few
 * namespaces, both are a small part of the uplink; for the whole network the second is all of
 * it, needed by one destination node at a time. A packet to another address (none in a matrix)
 * gets the whole device, compiled for it.
 */
export class MatrixSimulator extends ClusterSimulator {
  private readonly held: HeldDevices;
  /** Addresses of the table's columns behind each uplink (key node, device). */
  private readonly columnsBehind = new Map<string, Set<string>>();
  /** Addresses of the batch's rows behind each uplink, and the uplink reduced to them once built. */
  private rowsBehind = new Map<string, { addresses: Set<string>; device?: DevicePipeline | undefined }>();

  constructor(
    snapshot: ClusterSnapshot,
    model: PolicyModel,
    opts: CompileOptions,
    columns: readonly ManagedInterface[],
    heldFilters: number,
    /** Runs a full collection (by default fullCollector's, made for this simulator). */
    private readonly collectGarbage: () => void = fullCollector(),
  ) {
    super(snapshot, model, opts);
    this.held = new HeldDevices(heldFilters);
    for (const i of columns) {
      const up = uplinkFor(snapshot.nodes.get(i.nodeName), i);
      if (up) addAll(this.columnsBehind, deviceKey(i.nodeName, up), i.ips);
    }
  }

  /** The rows of the next batch: their replies meet their uplinks (built when first needed). */
  holdRows(batch: readonly ManagedInterface[]): void {
    const addresses = new Map<string, Set<string>>();
    for (const i of batch) {
      const up = uplinkFor(this.snapshot.nodes.get(i.nodeName), i);
      if (up) addAll(addresses, deviceKey(i.nodeName, up), i.ips);
    }
    this.rowsBehind = new Map([...addresses].map(([k, set]) => [k, { addresses: set }]));
  }

  /** Filters compiled since the last forced collection. */
  private compiledFilters = 0;
  /**
   * What the compiles remember about the model, shared between them (the VFs of a node look up
   * the same peers' ingress pieces) and dropped with each forced collection: kept for the whole
   * model, it grows to every rule's pieces (some 90 MB at 5,000 pods).
   */
  private compileMemo = new CompileMemo();

  /** One device of a node, compiled on its own. */
  private compileDevice(node: string, device: string): DevicePipeline | undefined {
    const p = compileNodeDevices(
      this.model,
      node,
      this.snapshot.nodes.get(node),
      this.opts,
      (d) => d.device === device,
      undefined,
      this.compileMemo,
    );
    const d = p.devices[0];
    this.compiledFilters += d ? filterCount(d) : 0;
    return d;
  }

  /** After a compile, once what was kept of it is kept: a collection when enough was built. */
  private afterCompile(): void {
    if (this.compiledFilters < COMPILED_BETWEEN_COLLECTIONS) return;
    this.compiledFilters = 0;
    this.compileMemo = new CompileMemo();
    this.collectGarbage();
  }

  override device(node: string, device: string, packet: Omit<Packet, 'device'>): DevicePipeline | undefined {
    const key = deviceKey(node, device);
    const dst = packet.dstIp ?? '';
    const columns = this.columnsBehind.get(key);
    const rows = this.rowsBehind.get(key);
    // The batch's rows first: a reply to a row that is also a column (the whole network) meets
    // the uplink reduced to the batch, not all of it, held or not.
    if (rows?.addresses.has(dst)) {
      if (rows.device === undefined) {
        const whole = this.compileDevice(node, device);
        if (!whole) return undefined;
        rows.device = deviceForDestinations(this.simulatorMemo, whole, [...rows.addresses]);
        if (columns) this.held.set(key, deviceForDestinations(this.simulatorMemo, whole, [...columns]));
        this.afterCompile();
      }
      return rows.device;
    }
    if (columns?.has(dst)) {
      let held = this.held.get(key);
      if (!held) {
        const whole = this.compileDevice(node, device);
        if (!whole) return undefined;
        held = deviceForDestinations(this.simulatorMemo, whole, [...columns]);
        // Built from the same compile when the batch's rows need it too.
        if (rows && rows.device === undefined)
          rows.device = deviceForDestinations(this.simulatorMemo, whole, [...rows.addresses]);
        this.held.set(key, held);
        // Most of what an uplink's compile built is garbage once reduced.
        this.afterCompile();
      }
      return held;
    }
    if (columns || rows) {
      const whole = this.compileDevice(node, device);
      this.afterCompile();
      return whole;
    }
    // A VF: held whole.
    let vf = this.held.get(key);
    if (!vf) {
      vf = this.compileDevice(node, device);
      if (vf) this.held.set(key, vf);
      this.afterCompile();
    }
    return vf;
  }
}

function deviceKey(node: string, device: string): string {
  return `${node}\u0000${device}`;
}

function addAll(map: Map<string, Set<string>>, key: string, values: readonly string[]): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  for (const v of values) set.add(v);
}

export function hasFamily(i: ManagedInterface, f: 4 | 6): boolean {
  return i.ips.some((x) => parseAddress(x)?.family === f);
}
