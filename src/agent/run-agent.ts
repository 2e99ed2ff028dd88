// The agent loop: state source -> policy model -> node pipeline -> reconcile, again on every
// change and on a periodic resync. Devices that fail are retried with exponential backoff.

import { watch } from 'node:fs';
import type { ClusterSnapshot } from '../cluster/snapshot.js';
import { formatProblem } from '../cluster/problem.js';
import { loadSnapshotFromDir } from '../cluster/load-manifests.js';
import type { CompileOptions } from '../tc/compile-options.js';
import { ExecaTcRunner } from '../tc/apply/tc-runner.js';
import { kernelReader, Reconciler } from '../tc/apply/reconcile.js';
import { log } from '../util/log.js';
import { NodePipelineBuilder } from './node-pipeline-builder.js';
import { dumpFiles, writeDumps } from './rule-dumps.js';
import type { Generation } from '../tc/layout.js';
// Representor discovery (issue 14).
import { annotationSource, sysfsSource } from '../node/device-source.js';
import { hostSysFs } from '../node/sysfs.js';
import { startLinkMonitor } from '../node/link-monitor.js';
import { unenforcedProblems } from '../node/unenforced-problems.js';
import { readOffload, type DeviceOffload } from '../tc/apply/offload-state.js';

export interface AgentOptions {
  nodeName: string;
  manifests?: string;
  kubeconfig?: string;
  master?: string;
  podRulesPath?: string;
  once: boolean;
  tcBinary: string;
  networkPlugins: string[];
  compile: CompileOptions;
  /** Full resync period (default 60 s). */
  resyncMs?: number;
  /** Find representors in sysfs under this root (default in cluster mode: "/"). */
  sysfsRoot?: string;
}

export interface StateSource {
  /** Current snapshot; resolves once the source has synced. */
  snapshot(): Promise<ClusterSnapshot>;
  /** Calls `cb` whenever the state may have changed. */
  onChange(cb: () => void): void;
  /** Report a problem with an object (a Kubernetes Event in cluster mode). */
  report?(problem: import('../cluster/problem.js').Problem): void;
  stop(): void;
}

function manifestsSource(dir: string): StateSource {
  const listeners: (() => void)[] = [];
  const w = watch(dir, { recursive: true }, () => listeners.forEach((l) => l()));
  return {
    snapshot: () => loadSnapshotFromDir(dir),
    onChange: (cb) => listeners.push(cb),
    stop: () => w.close(),
  };
}

export async function reconcileOnce(
  source: StateSource,
  reconciler: Reconciler,
  builder: NodePipelineBuilder,
  o: AgentOptions,
  seenProblems: Set<string>,
): Promise<{
  ok: boolean;
  failed: string[];
  writes: number;
  unenforced: number;
  offload: DeviceOffload[];
}> {
  const snapshot = await source.snapshot();
  const t0 = performance.now();
  const { model, pipeline, how } = builder.build(snapshot);
  log.info(`compiled node ${o.nodeName}: ${how}, ${(performance.now() - t0).toFixed(1)} ms`, 1);
  for (const p of model.problems) {
    const text = formatProblem(p);
    if (seenProblems.has(text)) continue;
    seenProblems.add(text);
    log.warn(text);
    source.report?.(p);
  }
  for (const w of pipeline.warnings) {
    if (!seenProblems.has(w)) {
      seenProblems.add(w);
      log.warn(w);
    }
  }
  // Unenforced interfaces: error-level, an Event on the pod, once per problem (issue 14).
  for (const p of unenforcedProblems(pipeline.unenforced ?? [])) {
    const text = formatProblem(p);
    if (seenProblems.has(text)) continue;
    seenProblems.add(text);
    log.error(text);
    source.report?.(p);
  }
  const report = await reconciler.reconcile(pipeline);
  const generations = new Map<string, Generation>();
  for (const out of report.outcomes) {
    if (out.error) log.error(out.error);
    else if (out.kind !== 'noop') log.info(`${out.device}: ${out.kind}, ${out.writes} tc line(s)`);
  }
  for (const d of pipeline.devices) generations.set(d.device, reconciler.generationOf(d.device) ?? 0);
  // Offload visibility (issue 14): per filter in the dumps, not-in-hardware counts per device.
  const offload = await readOffload(reconciler, pipeline, report).catch((e: unknown) => {
    log.warn(`reading the offload state failed: ${e instanceof Error ? e.message : String(e)}`);
    return [] as DeviceOffload[];
  });
  for (const d of offload)
    if (d.notInHw > 0) log.info(`${d.device}: ${d.notInHw} of ${d.filters} filter(s) not in hardware`, 1);
  const offloadLines = new Map(offload.map((d) => [d.device, d.lines]));
  if (o.podRulesPath)
    await writeDumps(o.podRulesPath, dumpFiles(pipeline, model, generations, o.compile.ctZone, offloadLines));
  log.info(
    `reconciled node ${o.nodeName}: ${pipeline.devices.length} device(s), ${report.writes} tc line(s), ${report.failed.length} failed`,
    1,
  );
  return {
    ok: report.failed.length === 0,
    failed: report.failed,
    writes: report.writes,
    unenforced: pipeline.unenforced?.length ?? 0,
    offload,
  };
}

export async function runAgent(o: AgentOptions): Promise<number> {
  // The Kubernetes client is a large module graph: load it only when the API server is the source.
  const source = o.manifests
    ? manifestsSource(o.manifests)
    : await (await import('../cluster/kube-source.js')).startKubeSource(o);
  const runner = new ExecaTcRunner(o.tcBinary);
  const reconciler = new Reconciler(runner, kernelReader(runner, o.tcBinary), o.compile.ctZone);
  const seen = new Set<string>();
  // sysfs in cluster mode or with --sysfs-root; the annotations for a manifests directory.
  const devices =
    o.sysfsRoot !== undefined || !o.manifests
      ? sysfsSource(hostSysFs(o.sysfsRoot ?? '/'), o.nodeName)
      : annotationSource();
  const builder = new NodePipelineBuilder(o.nodeName, o.networkPlugins, o.compile, devices);
  if (o.once) {
    try {
      const r = await reconcileOnce(source, reconciler, builder, o, seen);
      return r.ok ? 0 : 1;
    } finally {
      source.stop();
    }
  }
  log.info(
    `agent started on node ${o.nodeName} (${o.manifests ? `manifests ${o.manifests}` : 'Kubernetes API'})`,
  );
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let backoff = 1000;
  const schedule = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, ms);
  };
  const tick = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    let delay = o.resyncMs ?? 60_000;
    try {
      const r = await reconcileOnce(source, reconciler, builder, o, seen);
      // Unenforced interfaces are retried with backoff too: their devices may appear any time.
      if (r.ok && r.unenforced === 0) backoff = 1000;
      else {
        delay = backoff;
        backoff = Math.min(backoff * 2, 60_000);
      }
    } catch (e) {
      log.error(`reconcile failed: ${e instanceof Error ? e.message : String(e)}`);
      delay = backoff;
      backoff = Math.min(backoff * 2, 60_000);
    } finally {
      running = false;
    }
    schedule(again ? 0 : delay);
    again = false;
  };
  // Changes come in bursts (a manifest save, a rollout): wait for quiet before reconciling.
  source.onChange(() => schedule(200));
  const links =
    devices.kind === 'sysfs'
      ? startLinkMonitor(
          () => {
            devices.invalidate();
            schedule(200);
          },
          (m) => log.warn(m),
        )
      : undefined;
  schedule(0);
  await new Promise<void>((resolve) => {
    const stop = () => {
      if (timer) clearTimeout(timer);
      links?.stop();
      source.stop();
      log.info('agent stopping; rules stay in place');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
