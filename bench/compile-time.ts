// Compile time at scale: a synthetic cluster (bench/synthetic.ts) of 5,000 pods and 500 policies,
// about 100 VF representors on the benchmarked node and the other pods over 50 nodes.
//
//   make build && node build/bench/compile-time.js [--runs N] [--warmup N] [--pods N] [--policies N]
//
// Stages, as the agent runs them on every change: buildSnapshot (validation + parsing of the raw
// objects), buildPolicyModel (selectors, isolation, resolved rules), compileNode (the pipeline IR of
// every representor of the node) and render (the tc lines of the whole node, renderNodeTc). Each
// is the median of several runs after one warm-up run.
//
// "Incremental" is one pod's label change on the benchmarked node, handled as the agent handles
// it: snapshot (the objects as per-kind informer lists, read through InformerObjects as the kube
// source reads them, and the snapshot patched from the last one), diffSnapshots,
// updatePolicyModel and NodeCompiler.compile with
// what the previous compile left. Each result is checked equal to a full compile of the same
// objects. Two changes: a label that selectors read (app), and one that none reads. While they
// run, only their own state is alive (the full-compile results are released and collected first,
// and the warm-up's garbage is collected before the measured changes), as in the agent, which keeps
// one snapshot, model and pipeline; the changes' own garbage collection is measured. The measured
// changes come after --warmup changes (40 by default): the agent is a long-running process, and
// its first changes after start run while V8 still compiles the incremental path (several times
// slower); their median is printed apart.

import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { buildSnapshot, SnapshotBuilder } from '../src/cluster/build-snapshot.js';
import { InformerObjects } from '../src/cluster/informer-objects.js';
import { buildPolicyModel } from '../src/policy/build-model.js';
import { ModelIndexes } from '../src/policy/model-index.js';
import { compileNode, NodeCompiler } from '../src/tc/compile/node.js';
import { diffSnapshots } from '../src/cluster/snapshot-diff.js';
import { updatePolicyModel } from '../src/policy/update-model.js';
import { EMPTY_DELTA } from '../src/policy/types.js';
import { DEFAULT_COMPILE_OPTIONS } from '../src/tc/compile/options.js';
import type { NodePipeline } from '../src/tc/ir.js';
import { filterCount } from '../src/tc/ir.js';
import { renderNodeTc } from '../src/tc/render/render-tc.js';
import { diffPipelines, fmtMs, informerLists, median, PLUGIN, table, type Obj } from './cluster.js';
import { synthesize, withLabelChange, withLabels } from './synthetic.js';

interface StageTimes {
  snapshot: number;
  model: number;
  compile: number;
  render: number;
}

interface RunResult {
  times: StageTimes;
  pipeline: NodePipeline;
  text: string;
  keep: unknown[];
}

function run(objects: Obj[], nodeName: string, render: boolean): RunResult {
  const t0 = performance.now();
  const snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
  const t1 = performance.now();
  const model = buildPolicyModel(snapshot, { networkPlugins: [PLUGIN] });
  const t2 = performance.now();
  const pipeline = compileNode(model, nodeName, snapshot.nodes.get(nodeName), DEFAULT_COMPILE_OPTIONS);
  const t3 = performance.now();
  const text = render ? renderNodeTc(pipeline, DEFAULT_COMPILE_OPTIONS.ctZone) : '';
  const t4 = performance.now();
  return {
    times: { snapshot: t1 - t0, model: t2 - t1, compile: t3 - t2, render: t4 - t3 },
    pipeline,
    text,
    keep: [snapshot, model],
  };
}

/**
 * One pod change on the benchmarked node, as the agent handles a watch event: the snapshot is
 * rebuilt (every object but the changed pod is read from the per-object memo), diffed against
 * the previous one, the model is updated in place of a rebuild, and the node compiler reuses
 * every device and fragment whose model objects did not change.
 */
function incremental(
  synth: ReturnType<typeof synthesize>,
  what: string,
  change: (objects: Obj[], i: number) => Obj[],
  runs: number,
  warmup: number,
  gc: (() => void) | undefined,
): void {
  const modelOpts = { networkPlugins: [PLUGIN] };
  // The objects as the kube source hands them over: one informer list per kind.
  const informers = new InformerObjects();
  const snapshots = new SnapshotBuilder();
  const read = (objs: Obj[]) => snapshots.build(informers.read(informerLists(objs)));
  let objects = synth.objects;
  let snapshot = read(objects);
  let current = buildPolicyModel(snapshot, modelOpts);
  const compiler = new NodeCompiler(DEFAULT_COMPILE_OPTIONS);
  let pipeline = compiler.compile(current, synth.node, snapshot.nodes.get(synth.node));
  interface IncTimes {
    snapshot: number;
    diff: number;
    update: number;
    compile: number;
  }
  const incSamples: IncTimes[] = [];
  // The changes right after start, while V8 is still compiling the incremental path: reported
  // apart, as what a freshly started agent pays for its first changes.
  const coldSamples: IncTimes[] = [];
  let diff: ReturnType<typeof diffPipelines> = { devices: [], rewritten: 0, differ: 0 };
  let recompiled = 0;
  let equalToFull = true;
  let fallback = '';
  const total = 1 + warmup + 2 * runs;
  const indexes = new ModelIndexes();
  for (let i = 0; i < total; i++) {
    objects = change(objects, i);
    const t0 = performance.now();
    const next = read(objects);
    const t1 = performance.now();
    const delta = diffSnapshots(snapshot, next);
    const t2 = performance.now();
    const upd =
      delta.kind === 'pods'
        ? updatePolicyModel(current, snapshot, next, delta.changed, modelOpts, indexes)
        : {
            model: buildPolicyModel(next, modelOpts),
            delta: EMPTY_DELTA,
            incremental: false as const,
            reason: delta.what,
          };
    const t3 = performance.now();
    const out = compiler.compile(
      upd.model,
      synth.node,
      next.nodes.get(synth.node),
      undefined,
      undefined,
      upd.delta,
    );
    const t4 = performance.now();
    if (!upd.incremental) fallback = upd.reason;
    if (i === 0) {
      // Warm-up; also check the result against a full compile of the same objects, then collect
      // what that check and the setup left, so that the measured changes pay only for their own
      // garbage (as the agent, which keeps one snapshot, model and pipeline).
      diff = diffPipelines(pipeline, out);
      const before = new Set(pipeline.devices);
      recompiled = out.devices.filter((d) => !before.has(d)).length;
      const full = run(objects, synth.node, false).pipeline;
      equalToFull = JSON.stringify(full) === JSON.stringify(out);
      gc?.();
    } else {
      const sample = { snapshot: t1 - t0, diff: t2 - t1, update: t3 - t2, compile: t4 - t3 };
      (i <= warmup ? coldSamples : incSamples).push(sample);
      if (i === warmup) gc?.();
    }
    if (i === total - 1) {
      // The last change too: many incremental steps later, still what a full compile gives.
      const full = run(objects, synth.node, false).pipeline;
      equalToFull &&= JSON.stringify(full) === JSON.stringify(out);
    }
    snapshot = next;
    current = upd.model;
    pipeline = out;
  }
  const inc = (k: keyof IncTimes) => median(incSamples.map((s) => s[k]));
  const recompile = median(incSamples.map((s) => s.update + s.compile));
  const agentPath = median(incSamples.map((s) => s.snapshot + s.diff + s.update + s.compile));
  console.log(
    `incremental: ${what}, median of ${incSamples.length} changes after ${warmup} warm-up changes:`,
  );
  console.log(
    table(
      ['stage', 'median'],
      [
        ['snapshot (informer lists, patched)', fmtMs(inc('snapshot'))],
        ['diffSnapshots', fmtMs(inc('diff'))],
        ['updatePolicyModel', fmtMs(inc('update'))],
        ['NodeCompiler.compile', fmtMs(inc('compile'))],
        ['recompile (update + compile)', fmtMs(recompile)],
        ['agent path (all four)', fmtMs(agentPath)],
      ],
    ),
  );
  if (coldSamples.length > 0) {
    const cold = (f: (s: IncTimes) => number) => fmtMs(median(coldSamples.map(f)));
    console.log(
      `the ${coldSamples.length} warm-up changes right after start (V8 still compiling this path): median ` +
        `recompile ${cold((s) => s.update + s.compile)}, compile ${cold((s) => s.compile)}`,
    );
  }
  console.log(
    `model update: ${fallback ? `FELL BACK to a full build (${fallback})` : 'incremental every time'}; ` +
      `${recompiled} of ${pipeline.devices.length} devices recompiled, the others reused; ` +
      `result equal to a full compile (first and last change): ${equalToFull ? 'yes' : 'NO'}`,
  );
  console.log(
    `devices whose filters changed: ${diff.devices.length} (${diff.devices.slice(0, 6).join(', ')}${
      diff.devices.length > 6 ? ', …' : ''
    }); ${diff.differ} filters differ (added + removed); make-before-break rewrites those devices' ` +
      `generations: ${diff.rewritten} filter lines`,
  );
  console.log(
    `target: recompile after one label change under 10 ms -> ${recompile < 10 ? 'met' : 'MISSED'} (${fmtMs(recompile)})\n`,
  );
}

function gcFunction(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

/** The full compile: a warm-up, then `runs` measured runs on fresh copies of the objects. */
function fullCompile(synth: ReturnType<typeof synthesize>, runs: number): void {
  const first = run(synth.objects, synth.node, true);
  const model = first.keep[1] as ReturnType<typeof buildPolicyModel>;
  const local = model.interfaces.filter((i) => i.nodeName === synth.node);
  const isolated = model.interfaces.filter((i) => i.ingress.isolated || i.egress.isolated).length;
  const filters = first.pipeline.devices.reduce((n, d) => n + filterCount(d), 0);
  const withFilters = first.pipeline.devices.filter((d) => d.chains.length > 0);
  const biggest = Math.max(...first.pipeline.devices.map(filterCount));
  console.log(
    `cluster: ${model.interfaces.length} managed interfaces (${isolated} isolated), ${local.length} on ${synth.node}; ` +
      `${model.policies.length} policies; ${model.problems.length} problems reported`,
  );
  console.log(
    `node ${synth.node}: ${first.pipeline.devices.length} devices (${withFilters.length} with filters), ` +
      `${filters} IR filters (largest device ${biggest}), ${first.text.length} bytes of tc text\n`,
  );

  const samples: StageTimes[] = [];
  // Fresh copies of the objects each time (buildSnapshot builds alone, with a builder of its own):
  // a full compile is measured as on first sight (startup, or a resync with new objects).
  for (let i = 0; i < runs; i++) samples.push(run(structuredClone(synth.objects), synth.node, true).times);
  const med = (k: keyof StageTimes) => median(samples.map((s) => s[k]));
  const total = median(samples.map((s) => s.snapshot + s.model + s.compile + s.render));
  const rows = (['snapshot', 'model', 'compile', 'render'] as const).map((k) => [
    { snapshot: 'buildSnapshot', model: 'buildPolicyModel', compile: 'compileNode', render: 'renderNodeTc' }[
      k
    ],
    fmtMs(med(k)),
    fmtMs(Math.min(...samples.map((s) => s[k]))),
    fmtMs(Math.max(...samples.map((s) => s[k]))),
  ]);
  rows.push(['total', fmtMs(total), '', '']);
  console.log(`full compile, median of ${runs} runs after a warm-up:`);
  console.log(table(['stage', 'median', 'min', 'max'], rows));
  console.log(`target: full compile under 1 s -> ${total < 1000 ? 'met' : 'MISSED'} (${fmtMs(total)})\n`);
}

export function runCompileTime(
  opts: { runs?: number; warmup?: number; pods?: number; policies?: number } = {},
): void {
  const runs = opts.runs ?? 5;
  const warmup = opts.warmup ?? 40;
  const pods = opts.pods ?? 5000;
  const policies = opts.policies ?? 500;
  const gc = gcFunction();
  const tg = performance.now();
  const synth = synthesize({
    pods,
    policies,
    localInterfaces: 100,
    otherNodes: 50,
    namespaces: 20,
    seed: 42,
  });
  const genMs = performance.now() - tg;
  console.log(`== compile time: ${pods} pods x ${policies} policies (generated in ${fmtMs(genMs)})\n`);

  fullCompile(synth, runs);
  // Only the incremental scenarios' own state is alive while they run (as in the agent).
  gc?.();
  const [podKey, index] =
    [...synth.localPods.entries()].find(([k]) => k.includes('/api-')) ?? [...synth.localPods.entries()][0]!;
  incremental(
    synth,
    `pod ${podKey} changes its app label (api <-> search)`,
    (objects, i) => withLabelChange(objects, index, i % 2 === 0 ? 'search' : 'api'),
    runs,
    warmup,
    gc,
  );
  incremental(
    synth,
    `pod ${podKey} changes a label no selector reads (revision)`,
    (objects, i) => withLabels(objects, index, { revision: `r${i}` }),
    runs,
    warmup,
    gc,
  );

  gc?.();
  const keepAlive = run(synth.objects, synth.node, true);
  gc?.();
  const mem = process.memoryUsage();
  console.log(
    `memory with the objects, snapshot, model, pipeline and tc text alive${gc ? ' (after gc)' : ''}: ` +
      `heapUsed ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB, rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB`,
  );
  void keepAlive;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runCompileTime({
    runs: arg('--runs', 5),
    warmup: arg('--warmup', 40),
    pods: arg('--pods', 5000),
    policies: arg('--policies', 500),
  });
}
