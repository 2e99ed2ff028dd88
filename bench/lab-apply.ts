// The apply layer against a real kernel (run inside the QEMU lab by bench/lab-apply.sh):
//
//   (a) one device with a ~10,000-filter pipeline: a fresh install through Reconciler
//       (ExecaTcRunner + kernelReader) on a fresh veth against raw `tc -batch -` of the very lines
//       the planner writes, on another fresh veth, alternating which goes first; then a no-op
//       reconcile of the installed 10k device, and where the time goes step by step;
//   (b) 100 VF representors (veths) + the uplink with a compiled pipeline each: first reconcile
//       (install), then a second one, which should write nothing;
//   (c) one pod's label change on that node: recompile and reconcile as the agent does on an
//       event (not full: only devices whose pipeline changed are read); how many devices get
//       read and written, in how many processes, and the time from the change to the rules being
//       in the kernel; then a no-op reconcile (reads nothing) and a full one (the periodic resync,
//       reads every device);
//   (d) event to rules on a 100-representor node of the 5,000-pod cluster: a series of single-pod
//       app label changes (local and remote pods in turn, deterministic from a seed), each handled
//       as the agent handles a watch event (informer lists -> patched snapshot -> NodePipelineBuilder:
//       model update + NodeCompiler -> Reconciler.reconcile, not full), timed from the change to
//       the batch done; p50/p90/p99/max, split into compile and apply; right after each change, the
//       lines it wrote go through raw `tc -batch` on twin devices that hold the same rules.
//
//   node build/bench/lab-apply.js [a] [b] [d]     (inside the lab; default a and b; (c) runs with b)

import { execa } from 'execa';
import { deviceStateOf } from '../src/tc/apply/device-state.js';
import { parseFilterDump } from '../src/tc/apply/parse-filters.js';
import { planDevice } from '../src/tc/apply/plan-device.js';
import { Reconciler, kernelReader } from '../src/tc/apply/reconcile.js';
import { samePipeline } from '../src/tc/apply/same-pipeline.js';
import {
  ExecaTcRunner,
  type BatchFailure,
  type OpenBatch,
  type TcRunner,
} from '../src/tc/apply/tc-runner.js';
import { DEFAULT_COMPILE_OPTIONS } from '../src/tc/compile/options.js';
import type { DevicePipeline, NodePipeline } from '../src/tc/ir.js';
import { filterCount } from '../src/tc/ir.js';
import { renderChainLines } from '../src/tc/render/render-tc.js';
import { numberingFrom } from '../src/tc/layout.js';
import { assignChains, filterKey } from '../src/tc/apply/plan-chains.js';
import {
  build,
  compile,
  diffPipelines,
  fmtMs,
  ipv4,
  median,
  PLUGIN,
  type Labels,
  type Obj,
  nad,
  namespace,
  node,
  pod,
  policy,
  table,
  informerLists,
} from './cluster.js';
import { LAB_100_DEVICES, LAB_5000_PODS, appLabelChanges, synthesize, withLabelChange } from './synthetic.js';
import { buildSnapshot } from '../src/cluster/build-snapshot.js';
import { InformerObjects } from '../src/cluster/informer-objects.js';
import { NodePipelineBuilder } from '../src/agent/node-pipeline-builder.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

async function sh(script: string): Promise<string> {
  const r = await execa('bash', ['-c', script], { reject: false });
  if (r.exitCode !== 0) throw new Error(`failed (exit ${r.exitCode}): ${script.slice(0, 300)}\n${r.stderr}`);
  return r.stdout;
}

/** Creates veth pairs (the first name is the "representor"), all up, in one `ip -batch`. */
async function addVeths(names: string[]): Promise<void> {
  const lines = names.flatMap((n) => [`link add ${n} type veth peer name ${n}x`, `link set ${n} up`]);
  await execa('ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
}

async function delVeths(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await execa('ip', ['-batch', '-'], {
    input: names.map((n) => `link del ${n}`).join('\n') + '\n',
    reject: false,
  });
}

/** What a runner call was: a write batch, or one of the reads. */
type CallKind = 'batch' | 'qdiscs' | 'links' | 'dumps' | 'json';

/**
 * ExecaTcRunner that times every process it starts, by kind, and keeps the lines of every write
 * batch (part (a) checks them against the plan, part (d) replays them through raw `tc -batch`).
 */
class TimedRunner implements TcRunner {
  private readonly inner = new ExecaTcRunner('tc', undefined, { timeoutMs: 600_000 });
  /** Every process since the last reset, with its start and end (ms, performance.now()). */
  calls: { kind: CallKind; start: number; end: number }[] = [];
  /** The lines of every write batch since the last reset. */
  written: string[][] = [];
  get writes(): number {
    return this.inner.writes;
  }
  /** tc and ip processes started since the last reset. */
  get processes(): number {
    return this.calls.length;
  }
  /** Time from the start of the write processes to their end (an early-started one included). */
  get batchMs(): number {
    return this.ms('batch');
  }
  /** Wall time with a read process running (ip link, tc qdisc show, the dumps; some run side by side). */
  get readMs(): number {
    return wall(this.calls.filter((c) => c.kind !== 'batch'));
  }
  /** Wall time with any process running. */
  get busyMs(): number {
    return wall(this.calls);
  }
  ms(kind: CallKind): number {
    return this.calls.filter((c) => c.kind === kind).reduce((a, c) => a + c.end - c.start, 0);
  }
  count(kind: CallKind): number {
    return this.calls.filter((c) => c.kind === kind).length;
  }
  private async timed<T>(kind: CallKind, f: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await f();
    } finally {
      this.calls.push({ kind, start, end: performance.now() });
    }
  }
  batch(lines: string[]): Promise<BatchFailure | undefined> {
    this.written.push(lines);
    return this.timed('batch', () => this.inner.batch(lines));
  }
  openBatch(): OpenBatch {
    const start = performance.now();
    const inner = this.inner.openBatch();
    const lines: string[] = [];
    this.written.push(lines);
    return {
      write: (more) => {
        lines.push(...more);
        inner.write(more);
      },
      close: async () => {
        try {
          return await inner.close();
        } finally {
          this.calls.push({ kind: 'batch', start, end: performance.now() });
        }
      },
      get lines() {
        return inner.lines;
      },
    };
  }
  json(args: string[]): Promise<unknown[]> {
    return this.timed(args[0] === 'qdisc' ? 'qdiscs' : 'json', () => this.inner.json(args));
  }
  readBatch(lines: string[]): Promise<string> {
    return this.timed('dumps', () => this.inner.readBatch(lines));
  }
  ipJson(args: string[]): Promise<unknown[]> {
    return this.timed('links', () => this.inner.ipJson(args));
  }
  reset(): void {
    this.calls = [];
    this.written = [];
  }
}

/** Length of the union of intervals. */
function wall(spans: readonly { start: number; end: number }[]): number {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  let total = 0;
  let open: { from: number; to: number } | undefined;
  for (const s of sorted) {
    if (open && s.start <= open.to) open.to = Math.max(open.to, s.end);
    else {
      if (open) total += open.to - open.from;
      open = { from: s.start, to: s.end };
    }
  }
  return total + (open ? open.to - open.from : 0);
}

/** `tc -batch -` of these lines, as one process (what the apply layer is compared with). */
async function rawBatch(lines: string[]): Promise<number> {
  const t = performance.now();
  const r = await execa('tc', ['-batch', '-'], { input: lines.join('\n') + '\n', reject: false });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`raw tc -batch failed: ${r.stderr.slice(0, 500)}`);
  return ms;
}

/** The same lines for another device: every line names its device as its fourth word. */
function onDevice(lines: string[], rename: (device: string) => string): string[] {
  return lines.map((l) =>
    l.replace(/^(\S+ \S+ dev )(\S+)/, (_, head: string, dev: string) => head + rename(dev)),
  );
}

/** p-th percentile, nearest rank (with 40 samples p99 is the largest). */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Median time of a few starts of a tiny tc process: what any process costs in this VM. */
async function processStartMs(): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await execa('tc', ['-j', 'qdisc', 'show', 'dev', 'lo']);
    xs.push(performance.now() - t);
  }
  return median(xs);
}

async function kernelFilters(device: string): Promise<number> {
  const out = await sh(`tc -j filter show dev ${device} ingress`);
  const list = out.trim() ? (JSON.parse(out) as { options?: unknown }[]) : [];
  return list.filter((f) => f.options !== undefined).length;
}

// ---------------------------------------------------------------------------------------------
// (a) one 10k-filter device

/** An egress policy of `n` distinct, non-adjacent /32 ipBlock peers on TCP 443 (3 filters each). */
function bigDevice(n: number): DevicePipeline {
  const objects = [
    namespace('bench'),
    nad('bench', 'net1'),
    node('lab'),
    pod({
      ns: 'bench',
      name: 'client',
      node: 'lab',
      labels: { app: 'client' },
      ifaces: [{ network: 'bench/net1', ips: ['10.10.0.2'], representor: 'big0', vf: 0 }],
    }),
    policy('bench', 'many-peers', 'net1', {
      podSelector: { matchLabels: { app: 'client' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: Array.from({ length: n }, (_, k) => ({
            ipBlock: { cidr: `${ipv4((10 << 24) | (20 << 16) | (4 * k + 1))}/32` },
          })),
          ports: [{ protocol: 'TCP', port: 443 }],
        },
      ],
    }),
  ];
  const p = compile(build(objects), 'lab');
  return p.devices.find((d) => d.device === 'big0')!;
}

/** Where a reconcile of the installed 10k device spends its time, one step at a time (pure CPU apart from the dump). */
async function cpuBreakdown(dev: DevicePipeline, runner: TcRunner): Promise<void> {
  const fresh = deviceStateOf(dev.device, undefined, []);
  let t = performance.now();
  const install = planDevice(dev, fresh, ZONE);
  const planInstall = performance.now() - t;
  t = performance.now();
  const qdiscs = await kernelReader(runner).ingressQdiscs();
  const [dump] = await kernelReader(runner).filterDumps([dev.device]);
  const read = performance.now() - t;
  t = performance.now();
  const filters = parseFilterDump(dump!.ingress, ZONE);
  const state = deviceStateOf(dev.device, qdiscs.get(dev.device), filters, parseFilterDump(dump!.egress));
  const parse = performance.now() - t;
  t = performance.now();
  const noop = planDevice(dev, state, ZONE);
  const planNoop = performance.now() - t;
  t = performance.now();
  const assigned = assignChains(dev, fresh, ZONE);
  const assign = performance.now() - t;
  t = performance.now();
  renderChainLines(dev, numberingFrom(assigned.chains), ZONE, assigned.fresh);
  const render = performance.now() - t;
  // What assignChains computed on a fresh device before it skipped the keys when nothing can match.
  t = performance.now();
  for (const c of dev.chains) for (const f of c.filters) filterKey(f, ZONE);
  const keys = performance.now() - t;
  breakdownRows.push(
    ['install: planDevice (all of it)', fmtMs(planInstall), `${install.lines.length} lines`],
    ['  of it: assignChains (chain numbers)', fmtMs(assign), ''],
    ['  of it: renderChainLines', fmtMs(render), ''],
    [
      'not done on a fresh device any more: a content key per desired filter (filterKey)',
      fmtMs(keys),
      `${filterCount(dev)} keys`,
    ],
    [
      'no-op: tc qdisc show + tc -s -j filter show (read + JSON.parse)',
      fmtMs(read),
      `${filters.length} filters`,
    ],
    ['no-op: parseFilterDump + deviceStateOf', fmtMs(parse), ''],
    [
      'no-op: planDevice (canonical kernel set vs desired set)',
      fmtMs(planNoop),
      `${noop.lines.length} lines (${noop.kind})`,
    ],
  );
}

const breakdownRows: string[][] = [];

async function partA(reps: number): Promise<void> {
  console.log('== (a) one device, ~10,000 filters: Reconciler vs raw tc -batch of the lines it writes\n');
  const dev = bigDevice(3320);
  const kernelCount = filterCount(dev) + 1;
  // What the planner writes on a fresh device (no qdisc, no filters): the reconciler reads that
  // state and plans exactly this; each run checks that its batch was these lines.
  const planned = planDevice(dev, deviceStateOf(dev.device, undefined, []), ZONE).lines;
  const rawLines = onDevice(planned, () => 'raw0');
  console.log(
    `pipeline: ${kernelCount} kernel filters in ${dev.chains.length} chains; the planner writes ${planned.length} lines ` +
      `(qdisc add, the chains children first, the entry); raw is \`tc -batch -\` of the same lines on another fresh veth`,
  );
  const start = await processStartMs();
  console.log(`one tiny tc process (tc -j qdisc show dev lo) in this VM: ${fmtMs(start)} (median of 7)\n`);
  const pipeline: NodePipeline = { node: 'lab', devices: [dev], warnings: [] };
  const rows: (string | number)[][] = [];
  const rawMs: number[] = [];
  const recMs: number[] = [];
  const ratios: number[] = [];
  const noopMs: number[] = [];
  const runRaw = async () => {
    await addVeths(['raw0']);
    const ms = await rawBatch(rawLines);
    const inKernel = await kernelFilters('raw0');
    await delVeths(['raw0']);
    return { ms, inKernel };
  };
  const runReconciler = async (last: boolean) => {
    await addVeths(['big0']);
    const runner = new TimedRunner();
    const rec = new Reconciler(runner, kernelReader(runner), ZONE);
    const t = performance.now();
    const rep = await rec.reconcile(pipeline);
    const ms = performance.now() - t;
    if (rep.failed.length > 0)
      throw new Error(`reconcile failed: ${rep.outcomes.map((o) => o.error).join('; ')}`);
    const same = runner.written.length === 1 && runner.written[0]!.join('\n') === planned.join('\n');
    if (!same) throw new Error('the reconciler did not write the planned lines in one batch');
    const install = {
      ms,
      batch: runner.batchMs,
      reads: runner.readMs,
      busy: runner.busyMs,
      readProcesses: runner.processes - runner.count('batch'),
      writes: rep.writes,
      inKernel: await kernelFilters('big0'),
    };
    // The no-op reconcile (a full read of 10k filters) and the breakdown: last run only (the lab is slow).
    let noop: { ms: number; reads: number; writes: number } | undefined;
    if (last) {
      runner.reset();
      const s = performance.now();
      const again = await rec.reconcile(pipeline);
      noop = { ms: performance.now() - s, reads: runner.readMs, writes: again.writes };
      await cpuBreakdown(dev, runner);
    }
    await delVeths(['big0']);
    return { install, noop };
  };
  for (let i = 0; i < reps; i++) {
    // Alternating which goes first, so that a drift of the VM's speed hits both alike.
    let raw: Awaited<ReturnType<typeof runRaw>>;
    let rec: Awaited<ReturnType<typeof runReconciler>>;
    if (i % 2 === 0) {
      raw = await runRaw();
      rec = await runReconciler(i === reps - 1);
    } else {
      rec = await runReconciler(i === reps - 1);
      raw = await runRaw();
    }
    const { install, noop } = rec;
    rawMs.push(raw.ms);
    recMs.push(install.ms);
    ratios.push(install.ms / raw.ms);
    if (noop) noopMs.push(noop.ms);
    rows.push([
      i + 1,
      i % 2 === 0 ? 'raw' : 'reconcile',
      fmtMs(raw.ms),
      raw.inKernel,
      fmtMs(install.ms),
      fmtMs(install.batch),
      `${fmtMs(install.reads)} (${install.readProcesses})`,
      fmtMs(install.ms - install.busy),
      install.writes,
      install.inKernel,
      (install.ms / raw.ms).toFixed(2),
      (install.batch / raw.ms).toFixed(2),
      noop ? fmtMs(noop.ms) : '-',
      noop ? fmtMs(noop.reads) : '-',
      noop ? noop.writes : '-',
    ]);
  }
  console.log(
    table(
      [
        'run',
        'first',
        'raw tc -batch',
        'in kernel',
        'reconcile',
        'of it: batch',
        'reads (processes)',
        'no process running',
        'lines',
        'in kernel',
        'ratio',
        'batch/raw',
        'no-op reconcile',
        'of it: reads',
        'no-op lines',
      ],
      rows,
    ),
  );
  const ratio = median(recMs) / median(rawMs);
  console.log(
    `\nmedian: raw ${fmtMs(median(rawMs))}, reconcile ${fmtMs(median(recMs))}, ratio of medians ${ratio.toFixed(2)}; ` +
      `per-run ratios min ${Math.min(...ratios).toFixed(2)}, median ${median(ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)} ` +
      `(target ≤ 1.1: ${median(ratios) <= 1.1 ? 'met' : 'MISSED'}); no-op reconcile of the 10k device ${fmtMs(median(noopMs))}\n`,
  );
  console.log('step by step, on the installed 10k device (last run):');
  console.log(table(['step', 'time', ''], breakdownRows));
  console.log('');
}

// ---------------------------------------------------------------------------------------------
// (b) and (c): 100 devices

async function partBC(): Promise<void> {
  console.log('== (b) 100 devices: install, then a no-op reconcile; (c) one pod label change\n');
  const synth = synthesize(LAB_100_DEVICES);
  let t = performance.now();
  const built = build(synth.objects);
  const pipeline = compile(built, synth.node);
  const compileMs = performance.now() - t;
  const devices = pipeline.devices.map((d) => d.device);
  const counts = pipeline.devices.map(filterCount);
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(
    `cluster: ${built.model.interfaces.length} managed interfaces, ${synth.objects.length} objects; node ${synth.node}: ` +
      `${devices.length} devices (${pipeline.devices.filter((d) => d.kind === 'vf').length} VFs + uplink), ` +
      `${total} IR filters (per device min ${Math.min(...counts)}, median ${median(counts)}, max ${Math.max(...counts)}); ` +
      `compiled in the guest in ${fmtMs(compileMs)}`,
  );
  await addVeths(devices);
  const runner = new TimedRunner();
  const rec = new Reconciler(runner, kernelReader(runner), ZONE);
  const rows: (string | number)[][] = [];
  const step = async (name: string, p: NodePipeline, full: boolean, extraMs = 0) => {
    runner.reset();
    const s = performance.now();
    const rep = await rec.reconcile(p, { full });
    const ms = performance.now() - s;
    if (rep.failed.length > 0) throw new Error(`${name}: ${rep.outcomes.map((o) => o.error).join('; ')}`);
    const written = rep.outcomes.filter((o) => o.writes > 0);
    rows.push([
      name,
      rep.read,
      written.length,
      rep.writes,
      runner.processes,
      extraMs > 0 ? fmtMs(extraMs) : '-',
      fmtMs(ms),
      fmtMs(runner.readMs),
      fmtMs(runner.batchMs),
      fmtMs(ms - runner.busyMs),
      fmtMs(ms + extraMs),
    ]);
    return { written: written.map((o) => o.device), read: rep.read };
  };
  await step('(b) first reconcile (install)', pipeline, true);
  await step('(b) second reconcile (no change, full)', pipeline, true);

  // (c) one local pod changes its app label.
  const [podKey, index] =
    [...synth.localPods.entries()].find(([k]) => k.includes('/api-')) ?? [...synth.localPods.entries()][0]!;
  t = performance.now();
  const changed = build(withLabelChange(synth.objects, index, 'search'));
  const next = compile(changed, synth.node);
  const recompileMs = performance.now() - t;
  const before = new Map(pipeline.devices.map((d) => [d.device, d]));
  const differ = next.devices.filter((d) => !before.has(d.device) || !samePipeline(before.get(d.device)!, d));
  const { written } = await step(`(c) label change of ${podKey}`, next, false, recompileMs);
  const { read: noopRead } = await step('(c) reconcile again (no change)', next, false);
  await step('(c) periodic resync (full)', next, true);
  console.log(
    table(
      [
        'step',
        'devices read',
        'devices written',
        'tc lines',
        'processes',
        'recompile',
        'reconcile',
        'of it: reads',
        'writes',
        'parse+plan',
        'change -> kernel',
      ],
      rows,
    ),
  );
  const diff = diffPipelines(pipeline, next);
  console.log(
    `\n(c) devices whose pipeline changed: ${differ.length}; devices written (${written.length}): ${written.join(', ')}\n` +
      `    filters that actually differ (added + removed) on them: ${diff.differ}; lines written: ${rows[2]![3]}\n` +
      `    no-op reconcile after the change: ${noopRead} device(s) read ` +
      `(target ≤ ${differ.length}, the devices whose pipeline changed: ${noopRead <= differ.length ? 'met' : 'MISSED'})`,
  );
  await delVeths(devices);
}

// ---------------------------------------------------------------------------------------------
// (d) event to rules: a series of single-pod changes on the 100-representor node, as the agent
// handles each one

/** Every device of the node has a twin, m<name>, that gets the same lines through raw `tc -batch`. */
const mirrorOf = (device: string) => `m${device}`;

interface ChangeSample {
  change: string;
  snapshot: number;
  model: number;
  compile: number;
  reconcile: number;
  links: number;
  qdiscs: number;
  dumps: number;
  batch: number;
  processes: number;
  devicesRead: number;
  devicesWritten: number;
  lines: number;
  raw: number;
}

async function partD(changes: number, warmup: number, seed: number): Promise<void> {
  const small = process.env.BENCH_D_CLUSTER === 'lab100';
  const opts = small ? LAB_100_DEVICES : LAB_5000_PODS;
  console.log(
    `== (d) event to rules: ${changes} single-pod app label changes, ${opts.pods} pods x ${opts.policies} policies, ` +
      `${opts.localInterfaces} interfaces on the node (seed ${opts.seed}, changes from seed ${seed})\n`,
  );
  const synth = synthesize(opts);
  const informers = new InformerObjects();
  const builder = new NodePipelineBuilder(synth.node, [PLUGIN], DEFAULT_COMPILE_OPTIONS);
  let objects = synth.objects;
  const snapshotOf = (objs: Obj[]) => buildSnapshot(informers.read(informerLists(objs)));
  let t = performance.now();
  const first = builder.build(snapshotOf(objects));
  const firstMs = performance.now() - t;
  const devices = first.pipeline.devices.map((d) => d.device);
  const counts = first.pipeline.devices.map(filterCount);
  console.log(
    `node ${synth.node}: ${devices.length} devices, ${counts.reduce((a, b) => a + b, 0)} IR filters ` +
      `(largest ${Math.max(...counts)}); first build in the guest (snapshot + model + compile): ${fmtMs(firstMs)}`,
  );
  await addVeths([...devices, ...devices.map(mirrorOf)]);
  const runner = new TimedRunner();
  const rec = new Reconciler(runner, kernelReader(runner), ZONE);
  t = performance.now();
  const install = await rec.reconcile(first.pipeline, { full: true });
  const installMs = performance.now() - t;
  if (install.failed.length > 0)
    throw new Error(`install: ${install.outcomes.map((o) => o.error).join('; ')}`);
  const installLines = runner.written.flat();
  const installRaw = await rawBatch(onDevice(installLines, mirrorOf));
  console.log(
    `install: reconcile ${fmtMs(installMs)} (of it the write batch ${fmtMs(runner.batchMs)}, reads ${fmtMs(runner.readMs)}), ` +
      `${installLines.length} lines; the same lines through raw tc -batch on the twins: ${fmtMs(installRaw)} ` +
      `(ratio ${(installMs / installRaw).toFixed(2)})`,
  );

  // The agent is a long-running process: V8 compiles its incremental path during the first
  // changes. Warm-up changes (compiled, not applied) flip one pod's app label there and back, so
  // that the objects end as they were; one reconcile then settles the devices they touched.
  const series = appLabelChanges(synth, changes + 1, seed);
  const spare = series.pop()!;
  const original = (synth.objects[spare.index] as { metadata: { labels: Labels } }).metadata.labels.app!;
  t = performance.now();
  // An even number: the pod ends with its own label.
  const flips = warmup - (warmup % 2);
  for (let i = 0; i < flips; i++) {
    objects = withLabelChange(objects, spare.index, i % 2 === 0 ? spare.app : original);
    const snapshot = snapshotOf(objects);
    builder.compileNode(builder.buildModel(snapshot).model, snapshot);
  }
  const warmMs = performance.now() - t;
  runner.reset();
  const settled = await rec.reconcile(builder.build(snapshotOf(objects)).pipeline, { full: false });
  // The twins follow: they must hold what the devices hold before every measured change.
  if (settled.writes > 0) await rawBatch(onDevice(runner.written.flat(), mirrorOf));
  console.log(
    `warm-up: ${flips} changes compiled in ${fmtMs(warmMs)} (${fmtMs(warmMs / Math.max(1, flips))} each), not applied; ` +
      `settling reconcile wrote ${settled.writes} lines\n`,
  );

  const samples: ChangeSample[] = [];
  for (const ch of series) {
    objects = withLabelChange(objects, ch.index, ch.app);
    // The informers keep their lists as the watch events come: not the agent's work per event.
    const lists = informerLists(objects);
    runner.reset();
    const t0 = performance.now();
    const snapshot = buildSnapshot(informers.read(lists));
    const t1 = performance.now();
    const { model } = builder.buildModel(snapshot);
    const t2 = performance.now();
    const pipeline = builder.compileNode(model, snapshot);
    const t3 = performance.now();
    const rep = await rec.reconcile(pipeline, { full: false });
    const t4 = performance.now();
    if (rep.failed.length > 0) throw new Error(`${ch.pod}: ${rep.outcomes.map((o) => o.error).join('; ')}`);
    const written = runner.written.flat();
    const sample: ChangeSample = {
      change: `${ch.local ? 'local ' : 'remote'} ${ch.pod} -> ${ch.app}`,
      snapshot: t1 - t0,
      model: t2 - t1,
      compile: t3 - t2,
      reconcile: t4 - t3,
      links: runner.ms('links'),
      qdiscs: runner.ms('qdiscs'),
      dumps: runner.ms('dumps'),
      batch: runner.batchMs,
      processes: runner.processes,
      devicesRead: rep.read,
      devicesWritten: rep.outcomes.filter((o) => o.writes > 0).length,
      lines: rep.writes,
      // Right after: the very lines the reconciler wrote, on the twins (which hold what the
      // devices held before this change), as one raw process.
      raw: written.length > 0 ? await rawBatch(onDevice(written, mirrorOf)) : 0,
    };
    samples.push(sample);
    // As it goes: the lab is slow, and a run cut short by its timeout still shows what it measured.
    console.log(
      `change ${samples.length}/${series.length} ${sample.change}: ${fmtMs(sample.snapshot + sample.model + sample.compile)} ` +
        `+ ${fmtMs(sample.reconcile)} (${sample.devicesRead} read, ${sample.devicesWritten} written, ${sample.lines} lines); ` +
        `raw ${fmtMs(sample.raw)}`,
    );
  }
  console.log('');
  const total = (x: ChangeSample) => x.snapshot + x.model + x.compile + x.reconcile;
  const compileOf = (x: ChangeSample) => x.snapshot + x.model + x.compile;
  const rest = (x: ChangeSample) => x.reconcile - x.links - x.qdiscs - x.dumps - x.batch;
  console.log(
    table(
      [
        '#',
        'change',
        'snapshot+model+compile',
        'reconcile',
        'of it: ip link',
        'qdisc show',
        'filter dumps',
        'parse+plan',
        'write batch',
        'processes',
        'read',
        'written',
        'lines',
        'change -> kernel',
        'raw tc -batch',
      ],
      samples.map((x, i) => [
        i + 1,
        x.change,
        fmtMs(compileOf(x)),
        fmtMs(x.reconcile),
        fmtMs(x.links),
        fmtMs(x.qdiscs),
        fmtMs(x.dumps),
        fmtMs(rest(x)),
        x.batch > 0 ? fmtMs(x.batch) : '-',
        x.processes,
        x.devicesRead,
        x.devicesWritten,
        x.lines,
        fmtMs(total(x)),
        x.raw > 0 ? fmtMs(x.raw) : '-',
      ]),
    ),
  );
  const row = (name: string, f: (x: ChangeSample) => number, of = samples, fmt = fmtMs) => {
    const xs = of.map(f);
    return [name, ...[50, 90, 99].map((p) => fmt(percentile(xs, p))), fmt(Math.max(...xs))];
  };
  const wrote = samples.filter((x) => x.lines > 0);
  console.log(
    `\n${samples.length} changes (${wrote.length} wrote lines; percentiles nearest rank, so p99 of fewer than 100 is the largest):`,
  );
  console.log(
    table(
      ['', 'p50', 'p90', 'p99', 'max'],
      [
        row('change -> rules in the kernel', total),
        row('  snapshot + model update + compile', compileOf),
        row('  reconcile (not full)', (x) => x.reconcile),
        row('    of it: read processes (ip link, qdisc show, dumps)', (x) => x.links + x.qdiscs + x.dumps),
        row('    of it: parse + plan (+ JS)', rest),
        row('    of it: the write batch', (x) => x.batch),
        ...(wrote.length > 0
          ? [row('the same lines through raw tc -batch (changes that wrote)', (x) => x.raw, wrote)]
          : []),
        row('devices read', (x) => x.devicesRead, samples, String),
      ],
    ),
  );
  const start = await processStartMs();
  console.log(
    `\none tiny tc process (tc -j qdisc show dev lo) in this VM: ${fmtMs(start)}; a change that writes starts ` +
      `${median(wrote.map((x) => x.processes))} processes (median), one that writes nothing ` +
      `${samples.filter((x) => x.lines === 0).map((x) => x.processes)[0] ?? '-'}\n`,
  );
  await delVeths([...devices, ...devices.map(mirrorOf)]);
}

async function main(): Promise<void> {
  if (process.env.KERNEL_LAB !== '1') {
    console.error('run inside the QEMU lab: bash bench/lab-apply.sh');
    process.exitCode = 2;
    return;
  }
  const parts = process.argv.slice(2);
  const want = (p: string) => parts.length === 0 || parts.includes(p);
  const cpus = (await sh('nproc')).trim();
  const kernel = (await sh('uname -r')).trim();
  console.log(
    `lab: kernel ${kernel}, ${cpus} vCPUs (QEMU; TCG unless KVM is available), ${new Date().toISOString()}\n`,
  );
  if (want('a')) await partA(Number(process.env.BENCH_REPS ?? 3));
  if (want('b')) await partBC();
  if (parts.includes('d'))
    await partD(
      Number(process.env.BENCH_CHANGES ?? 30),
      Number(process.env.BENCH_WARMUP ?? 20),
      Number(process.env.BENCH_SEED ?? 17),
    );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
