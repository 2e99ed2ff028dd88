// The agent's Prometheus metrics (prom-client, in a registry of its own). Names start with
// multi_networkpolicy_tc_. Two gauges are filled by code outside the loop: the interfaces the agent
// cannot enforce (setUnenforced) and the filters the NIC did not offload (setNotOffloaded).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { filterCount, type NodePipeline } from '../tc/ir.js';

const P = 'multi_networkpolicy_tc_';

/** An interface the agent cannot enforce policy on, and why (e.g. "no representor"). */
export interface UnenforcedInterface {
  /** "namespace/pod/interface" or the device name. */
  interface: string;
  reason: string;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly reconcileDuration = new Histogram({
    name: `${P}reconcile_duration_seconds`,
    help: 'Time of one reconcile: snapshot, model, compile, read and write the kernel',
    labelNames: ['result'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly eventToProgrammed = new Histogram({
    name: `${P}event_to_programmed_seconds`,
    help: 'From the first unapplied change seen by a watch to the reconcile that programmed it',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly tcLines = new Counter({
    name: `${P}tc_lines_written_total`,
    help: 'tc batch lines written',
    registers: [this.registry],
  });
  private readonly filters = new Gauge({
    name: `${P}filters`,
    help: 'Filters of the desired pipeline per device',
    labelNames: ['device'],
    registers: [this.registry],
  });
  private readonly applyErrors = new Counter({
    name: `${P}apply_errors_total`,
    help: 'Failed applies per device',
    labelNames: ['device'],
    registers: [this.registry],
  });
  private readonly devicesRead = new Counter({
    name: `${P}devices_read_total`,
    help: 'Devices whose rules were read back from the kernel (a reconcile reads only those that may differ; a resync all)',
    registers: [this.registry],
  });
  private readonly externalDeletions = new Counter({
    name: `${P}rules_deleted_externally_total`,
    help: "Deletions by someone else of a device's live rules (its qdisc, entry filter or a live chain), seen by tc monitor",
    labelNames: ['device'],
    registers: [this.registry],
  });
  private readonly watchRestarts = new Counter({
    name: `${P}watch_restarts_total`,
    help: 'Watches started again, per kind and why (closed, stalled, error)',
    labelNames: ['kind', 'reason'],
    registers: [this.registry],
  });
  private readonly relists = new Counter({
    name: `${P}relists_total`,
    help: 'Completed LISTs per kind (the first one included)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly cacheObjects = new Gauge({
    name: `${P}cache_objects`,
    help: 'Objects in the informer caches per kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly unenforced = new Gauge({
    name: `${P}unenforced_interfaces`,
    help: 'Pod interfaces the agent cannot enforce policy on, per reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly notOffloaded = new Gauge({
    name: `${P}filters_not_offloaded`,
    help: 'Filters the NIC did not offload (not_in_hw), per device',
    labelNames: ['device'],
    registers: [this.registry],
  });
  private readonly readyGauge = new Gauge({
    name: `${P}ready`,
    help: '1 when the agent has synced and its last reconcile succeeded or is backing off within bounds',
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: P });
  }

  observeReconcile(seconds: number, ok: boolean): void {
    this.reconcileDuration.observe({ result: ok ? 'ok' : 'failed' }, seconds);
  }

  observeEventToProgrammed(seconds: number): void {
    this.eventToProgrammed.observe(seconds);
  }

  addTcLines(n: number): void {
    if (n > 0) this.tcLines.inc(n);
  }

  setPipeline(pipeline: NodePipeline): void {
    this.filters.reset();
    for (const d of pipeline.devices) this.filters.set({ device: d.device }, filterCount(d));
  }

  addDevicesRead(n: number): void {
    this.devicesRead.inc(n);
  }

  externalDeletion(device: string): void {
    this.externalDeletions.inc({ device });
  }

  applyError(device: string): void {
    this.applyErrors.inc({ device });
  }

  watchRestart(kind: string, reason: string): void {
    this.watchRestarts.inc({ kind, reason });
  }

  relist(kind: string): void {
    this.relists.inc({ kind });
  }

  setCacheSizes(sizes: ReadonlyMap<string, number>): void {
    for (const [kind, n] of sizes) this.cacheObjects.set({ kind }, n);
  }

  /** The whole current list: replaces the last one. */
  setUnenforced(list: readonly UnenforcedInterface[]): void {
    this.unenforced.reset();
    const byReason = new Map<string, number>();
    for (const u of list) byReason.set(u.reason, (byReason.get(u.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) this.unenforced.set({ reason }, n);
  }

  setNotOffloaded(device: string, n: number): void {
    this.notOffloaded.set({ device }, n);
  }

  setReady(ready: boolean): void {
    this.readyGauge.set(ready ? 1 : 0);
  }
}
