// The agent loop: state source -> policy model -> node pipeline -> reconcile, again on every
// change and on a periodic resync. Devices that fail are retried with exponential backoff.
// Nothing touches the kernel until the source has a complete state (SourceNotReady). On SIGTERM
// or SIGINT a `stopped` flag ends every timer and handler; the rules stay in place.

import { formatProblem } from '../cluster/problem.js';
import type { CompileOptions } from '../tc/compile/options.js';
import { ExecaTcRunner } from '../tc/apply/tc-runner.js';
import { kernelReader, Reconciler } from '../tc/apply/reconcile.js';
import { errorText, log } from '../util/log.js';
import { NodePipelineBuilder } from './node-pipeline-builder.js';
import { dumpFiles, writeDumps } from './rule-dumps.js';
import type { InformerTiming } from '../cluster/kube/informer.js';
import { AgentMetrics } from './agent-metrics.js';
import { parseBindAddress, startHealthServer } from './health-server.js';
import { manifestsSource } from '../cluster/manifests-source.js';
import { SourceNotReady, type StateSource } from '../cluster/state-source.js';
import { cpuMs } from '../cluster/kube/cpu-time.js';
import { IdleGc } from './idle-gc.js';
import { ReportOnce } from './report-once.js';
import { Backoff } from '../cluster/kube/backoff.js';
import { withObjectSources } from '../cluster/build-snapshot.js';
import { annotationSource, sysfsSource } from '../node/device-source.js';
import { hostSysFs } from '../node/sysfs.js';
import { startLinkMonitor } from '../node/link-monitor.js';
import { startRuleMonitor } from '../tc/apply/rule-monitor.js';
import { unenforcedProblems } from '../node/unenforced-problems.js';
import type { DeviceOffload } from '../tc/apply/offload-state.js';
import type { EarlyKubeSource } from './early-kube-source.js';
import { StopSignals } from './stop-signals.js';

export interface AgentOptions {
  nodeName: string;
  manifests?: string;
  kubeconfig?: string;
  master?: string;
  podRulesPath?: string;
  once: boolean;
  tcBinary: string;
  /** Limit per tc or ip process (--tc-timeout; default DEFAULT_TC_TIMEOUT_MS). */
  tcTimeoutMs?: number;
  networkPlugins: string[];
  compile: CompileOptions;
  /** Full resync period (default 60 s). */
  resyncMs?: number;
  /** "[host]:port" for /healthz, /readyz, /metrics; "0" or undefined: none. */
  metricsBindAddress?: string;
  /** Tests shorten the informers' timers. */
  kubeTiming?: Partial<InformerTiming>;
  /** `--once` against the API: give up if the caches have not synced in this time (default 60 s). */
  syncTimeoutMs?: number;
  /** Find representors in sysfs under this root (default in cluster mode: "/"). */
  sysfsRoot?: string;
  /**
   * Where representors and uplinks come from: `auto` (the default) reads sysfs in cluster mode or
   * with --sysfs-root and the annotations with --manifests; `annotations` forces device-info and
   * the Node annotation (labs whose "representors" are veth ends, tests with stand-in tc).
   */
  deviceSource?: 'auto' | 'sysfs' | 'annotations';
  /** The cluster source, already listing (the CLI starts it before loading this module). */
  kubeSource?: EarlyKubeSource;
  /** Stop signals caught since the command started (the CLI's); the agent catches its own without. */
  stopSignals?: StopSignals;
}

/** What the loop lets reconcileOnce know and record. */
export interface ReconcileHooks {
  /** Checked between stages: a stopping agent abandons the pass. */
  stopped?: () => boolean;
  metrics?: AgentMetrics;
  /** Read every device back (the periodic resync, the default); false: only those that may differ. */
  full?: boolean;
}

export interface ReconcileResult {
  ok: boolean;
  failed: string[];
  writes: number;
  /** The agent stopped during the pass: nothing more was written. */
  abandoned?: boolean;
  /** Pod interface directions that no device can filter (retried with backoff). */
  unenforced: number;
  /** Where the filters landed, per device (in_hw / not_in_hw). */
  offload: DeviceOffload[];
}

/** Lets a signal handler run between two synchronous stages. */
const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function reconcileOnce(
  source: StateSource,
  reconciler: Reconciler,
  builder: NodePipelineBuilder,
  o: AgentOptions,
  /** The problems reported and still current (report-once.ts), kept from pass to pass. */
  seenProblems: Set<string>,
  hooks: ReconcileHooks = {},
): Promise<ReconcileResult> {
  const stopped = hooks.stopped ?? (() => false);
  const abandoned: ReconcileResult = {
    ok: true,
    failed: [],
    writes: 0,
    abandoned: true,
    unenforced: 0,
    offload: [],
  };
  const snapshot = await source.snapshot();
  const changes = source.takeChanges?.() ?? [];
  await yieldToEvents();
  if (stopped()) return abandoned;
  const t0 = performance.now();
  const { model, how } = builder.buildModel(snapshot);
  await yieldToEvents();
  if (stopped()) return abandoned;
  const pipeline = builder.compileNode(model, snapshot);
  log.info(`compiled node ${o.nodeName}: ${how}, ${(performance.now() - t0).toFixed(1)} ms`, 2, {
    cpuMs: cpuMs(),
  });
  await yieldToEvents();
  if (stopped()) return abandoned;
  // The model's problems are complete on every path (a full build's; an incremental update keeps
  // the previous ones and falls back to a full build when a changed pod had or has problems: it
  // equals a full build, test/unit/policy/update-model.test.ts), and so are the node's warnings
  // and unenforced interfaces (recomputed on every compile).
  const once = new ReportOnce(seenProblems);
  for (const p of withObjectSources(snapshot, model.problems)) {
    const text = formatProblem(p);
    if (!once.first(text)) continue;
    log.warn(text, { object: p.object });
    source.report?.(p);
  }
  for (const w of pipeline.warnings) if (once.first(w)) log.warn(w);
  // Unenforced interfaces: error level, an Event on the pod, once per problem.
  const unenforced = pipeline.unenforced ?? [];
  for (const p of unenforcedProblems(unenforced)) {
    const text = formatProblem(p);
    if (!once.first(text)) continue;
    log.error(text, { object: p.object });
    source.report?.(p);
  }
  once.complete();
  hooks.metrics?.setUnenforced(unenforced);
  hooks.metrics?.setPipeline(pipeline);
  const full = hooks.full ?? true;
  const report = await reconciler.reconcile(pipeline, { full });
  hooks.metrics?.addTcLines(report.writes);
  hooks.metrics?.addDevicesRead(report.read);
  const numberings = new Map<string, readonly number[]>();
  for (const out of report.outcomes) {
    if (out.error) {
      log.error(out.error, { device: out.device });
      hooks.metrics?.applyError(out.device);
    } else if (out.kind !== 'noop')
      log.info(`${out.device}: ${out.kind}, ${out.writes} tc line(s)`, 4, { device: out.device });
  }
  const result = {
    ok: report.failed.length === 0,
    failed: report.failed,
    writes: report.writes,
    unenforced: unenforced.length,
  };
  if (stopped()) return { ...result, offload: [] };
  for (const d of pipeline.devices) {
    const n = reconciler.numberingOf(d.device);
    if (n) numberings.set(d.device, n);
  }
  // Offload visibility: per filter in the dumps, not-in-hardware counts per device.
  const offload = await reconciler.readOffload(pipeline, report).catch((e: unknown) => {
    log.warn(`reading the offload state failed: ${errorText(e)}`);
    return [] as DeviceOffload[];
  });
  for (const d of offload) {
    hooks.metrics?.setNotOffloaded(d.device, d.notInHw);
    if (d.notInHw > 0) log.info(`${d.device}: ${d.notInHw} of ${d.filters} filter(s) not in hardware`, 2);
  }
  const offloadLines = new Map(offload.map((d) => [d.device, d.lines]));
  if (o.podRulesPath)
    await writeDumps(o.podRulesPath, dumpFiles(pipeline, model, numberings, o.compile.ctZone, offloadLines));
  const changedDevices = report.outcomes.filter((x) => x.writes > 0).map((x) => x.device);
  log.info(
    `reconciled node ${o.nodeName}: ${pipeline.devices.length} device(s), ${report.writes} tc line(s), ${report.failed.length} failed`,
    2,
    {
      how,
      changes,
      changedDevices,
      failed: report.failed,
      full,
      devicesRead: report.read,
      cpuMs: cpuMs(),
    },
  );
  return { ...result, offload };
}

/** Waits until the source is ready, or `ms` passed; false on timeout. */
async function waitReady(source: StateSource, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!(source.ready?.() ?? true)) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** How long failing reconciles may back off before /readyz says not ready. */
const READY_FAILING_MS = 5 * 60_000;
/** A single reconcile running longer than this means the loop is stuck (/healthz fails). */
const STUCK_MS = 5 * 60_000;

export async function runAgent(o: AgentOptions): Promise<number> {
  const metrics = new AgentMetrics();
  // The Kubernetes client is a large module graph: load it only when the API server is the source
  // (its generated API is left out at build time: hack/copy-kube-config.js).
  const hooks = {
    relist: (k: string) => metrics.relist(k),
    watchRestart: (k: string, why: string) => metrics.watchRestart(k, why),
  };
  o.kubeSource?.bind(hooks);
  const source: StateSource = o.kubeSource
    ? o.kubeSource.source
    : o.manifests
      ? manifestsSource(o.manifests)
      : (await import('../cluster/kube-source.js')).startKubeSource(
          { nodeName: o.nodeName, kubeconfig: o.kubeconfig, master: o.master, timing: o.kubeTiming },
          hooks,
        );
  // Aborted on SIGTERM: a tc process in flight is killed (make-before-break keeps the old rules).
  const abort = new AbortController();
  const runner = new ExecaTcRunner(o.tcBinary, undefined, {
    signal: abort.signal,
    ...(o.tcTimeoutMs !== undefined ? { timeoutMs: o.tcTimeoutMs } : {}),
  });
  const reconciler = new Reconciler(runner, kernelReader(runner), o.compile.ctZone);
  const seen = new Set<string>();
  // sysfs in cluster mode or with --sysfs-root; the annotations for a manifests directory.
  const fromSysfs =
    o.deviceSource === 'sysfs' ||
    (o.deviceSource !== 'annotations' && (o.sysfsRoot !== undefined || !o.manifests));
  const devices = fromSysfs ? sysfsSource(hostSysFs(o.sysfsRoot ?? '/'), o.nodeName) : annotationSource();
  const builder = new NodePipelineBuilder(o.nodeName, o.networkPlugins, o.compile, devices);
  if (o.once) {
    try {
      // A manifests directory is read by snapshot() itself; the informers sync on their own.
      if (!o.manifests && !(await waitReady(source, o.syncTimeoutMs ?? 60_000))) {
        log.error('the state source did not sync in time; nothing was applied');
        return 1;
      }
      const r = await reconcileOnce(source, reconciler, builder, o, seen, { metrics });
      return r.ok ? 0 : 1;
    } catch (e) {
      if (!(e instanceof SourceNotReady)) throw e;
      log.error(`${e.message}; nothing was applied`);
      return 1;
    } finally {
      source.stop();
    }
  }
  const stopSignals = o.stopSignals ?? new StopSignals();
  const idleGc = new IdleGc();
  log.info(
    `agent started on node ${o.nodeName} (${o.manifests ? `manifests ${o.manifests}` : 'Kubernetes API'})`,
    0,
    { cpuMs: cpuMs(), idleGc: idleGc.enabled },
  );
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let runningSince = 0;
  let again = false;
  let lastOk = true;
  let failingSince: number | undefined;
  let reconciledOnce = false;
  /** The first change not yet programmed (for the event-to-programmed latency). */
  let pendingSince: number | undefined;
  /** Start of the last pass that read every device; a pass reads them all once resyncMs passed. */
  let lastFullAt: number | undefined;
  const backoff = new Backoff(1000, 60_000, 0.2);
  let unenforcedRetry = false;
  /** When the pending timer fires (ms since the epoch). */
  let timerDue = 0;
  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timerDue = Date.now() + ms;
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) void tick();
    }, ms);
  };
  /**
   * A reconcile within `ms`: an earlier pending one stays as it is. Events do not push it back,
   * so a steady stream of changes (a rollout) cannot postpone the reconcile; a burst that comes
   * while one runs is one more pass (`again`).
   */
  const soon = (ms: number) => {
    if (timer && timerDue <= Date.now() + ms) return;
    schedule(ms);
  };
  // The wait after a change, so that the events of one burst go into one pass: short for the
  // watch; longer for a manifests directory, whose files an editor writes in steps.
  const changeDelayMs = o.manifests ? 200 : 50;
  const pass = async (): Promise<number> => {
    const since = pendingSince;
    pendingSince = undefined;
    const t0 = performance.now();
    let ok = false;
    const startedAt = Date.now();
    const full = lastFullAt === undefined || startedAt - lastFullAt >= (o.resyncMs ?? 60_000);
    try {
      const r = await reconcileOnce(source, reconciler, builder, o, seen, {
        stopped: () => stopped,
        metrics,
        full,
      });
      if (r.abandoned) return 0;
      if (full) lastFullAt = startedAt;
      ok = r.ok;
      reconciledOnce = true;
      // Unenforced interfaces are retried with backoff: their devices may appear any time.
      if (ok && r.unenforced > 0) unenforcedRetry = true;
      metrics.observeReconcile((performance.now() - t0) / 1000, ok);
      if (ok && since !== undefined) metrics.observeEventToProgrammed((Date.now() - since) / 1000);
    } catch (e) {
      if (e instanceof SourceNotReady) {
        // The source logs its own state changes; nothing was applied. Its sync is a change.
        pendingSince = since;
        return o.manifests ? backoff.delay() : (o.resyncMs ?? 60_000);
      }
      log.error(`reconcile failed: ${errorText(e)}`);
      metrics.observeReconcile((performance.now() - t0) / 1000, false);
    } finally {
      if (source.cacheSizes) metrics.setCacheSizes(source.cacheSizes());
    }
    if (!ok) {
      if (since !== undefined) pendingSince = Math.min(since, pendingSince ?? since);
      if (lastOk) failingSince = Date.now();
      lastOk = false;
      return backoff.delay();
    }
    if (!lastOk) log.info('reconcile succeeded again');
    lastOk = true;
    failingSince = undefined;
    if (unenforcedRetry) {
      unenforcedRetry = false;
      return backoff.delay();
    }
    backoff.reset();
    return o.resyncMs ?? 60_000;
  };
  const tick = async (): Promise<void> => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    runningSince = Date.now();
    idleGc.passStarting();
    const current = pass();
    running = current.then(() => undefined);
    const delay = await current;
    running = undefined;
    if (stopped) return;
    // Not while the source syncs (its passes end at once): a full collection would slow the LISTs.
    if (reconciledOnce) idleGc.passEnded();
    schedule(again ? 0 : delay);
    again = false;
  };
  source.onChange(() => {
    if (stopped) return;
    pendingSince ??= Date.now();
    // The change that completes the first sync starts the first reconcile at once (cold start).
    soon(!reconciledOnce && (source.ready?.() ?? false) ? 0 : changeDelayMs);
  });
  const links =
    devices.kind === 'sysfs'
      ? startLinkMonitor(
          () => {
            if (stopped) return;
            devices.invalidate();
            soon(changeDelayMs);
          },
          (m) => log.warn(m),
        )
      : undefined;
  // Someone else deleting a device's live rules (its qdisc, entry or a live chain) could leave a
  // pod unprotected until the resync: read and repair that device at once.
  const deletions = startRuleMonitor(
    runner.tc,
    (e) => {
      if (stopped || !reconciler.noticeDeletion(e)) return;
      log.warn(
        `device ${e.device}: its rules were deleted by someone else (${e.what}); programming it again`,
      );
      metrics.externalDeletion(e.device);
      pendingSince ??= Date.now();
      soon(changeDelayMs);
    },
    (m) => log.warn(`rule monitor: ${m}`),
  );
  const bind = parseBindAddress(o.metricsBindAddress ?? '0');
  const server = bind
    ? await startHealthServer(
        bind,
        {
          healthy: () => !running || Date.now() - runningSince < STUCK_MS,
          notReadyReason: () => {
            if (!(source.ready?.() ?? true)) return 'the state source has not synced';
            if (!reconciledOnce) return 'no reconcile has completed yet';
            if (failingSince !== undefined && Date.now() - failingSince > READY_FAILING_MS)
              return 'reconciles have failed for more than 5 minutes';
            return undefined;
          },
        },
        metrics,
      )
    : undefined;
  schedule(0);
  const signal = await stopSignals.received;
  stopped = true;
  if (timer) clearTimeout(timer);
  idleGc.cancel();
  abort.abort();
  links?.stop();
  deletions.stop();
  source.stop();
  server?.close();
  log.info(`agent stopping on ${signal}; rules stay in place`);
  // A pass in flight checks `stopped` between its stages; do not wait for it longer than this
  // (a tc batch left running is make-before-break: the old rules stay live until its switch).
  if (running) await Promise.race([running, new Promise((r) => setTimeout(r, 1000).unref())]);
  return 0;
}
