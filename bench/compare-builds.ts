// Incremental recompile of this build against another build of the project, in one process and in
// lockstep: both handle the same pod label changes on the compile-time bench's cluster, one after
// the other, in alternating order. The VMs these benchmarks run on change speed by up to 2× within
// minutes, so two bench runs one after the other can differ more than two versions of the code;
// measured in lockstep, both see the same moments.
//
//   make build && node build/bench/compare-builds.js --other DIR [--changes N]
//
// DIR is the `build` directory of another checkout (for example a git worktree of an older commit,
// built with `npx tsc -p .`; it finds the CRDs in its checkout, or set
// MULTI_NETWORKPOLICY_TC_CRD_DIR). Medians leave out the first 40 changes (V8 warm-up; the first half
// when --changes is 80 or fewer). Each build
// goes first as often as the other, for both directions of the change. Against a copy of itself
// (an A/A run) this build measured 0.98-1.07 of the copy: smaller differences are noise.

import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { fmtMs, median, PLUGIN, table, type Obj } from './cluster.js';
import { COMPILE_TIME_CLUSTER, synthesize, withLabelChange } from './synthetic.js';

const WARMUP = 40;

/** The agent's incremental path as one build exports it (the API every build since the third session has). */
interface Build {
  buildSnapshot(objects: { obj: unknown }[]): { nodes: Map<string, unknown> };
  buildPolicyModel(snapshot: unknown, opts: unknown): unknown;
  diffSnapshots(prev: unknown, next: unknown): { kind: string; changed?: string[] };
  updatePolicyModel(
    model: unknown,
    prev: unknown,
    next: unknown,
    changed: string[],
    opts: unknown,
    indexes?: unknown,
  ): { model: unknown; incremental: boolean; delta?: unknown };
  /** The owner of the model's indexes (builds before it kept one per process, and have none). */
  ModelIndexes?: new () => unknown;
  /** `delta`: the update's ModelDelta (builds before it had none, and ignore the argument). */
  NodeCompiler: new (opts: unknown) => {
    compile(
      model: unknown,
      node: string,
      info: unknown,
      lookup?: unknown,
      wanted?: unknown,
      delta?: unknown,
    ): unknown;
  };
  DEFAULT_COMPILE_OPTIONS: unknown;
}

async function load(root: string): Promise<Build> {
  const mod = (path: string) => import(pathToFileURL(resolve(root, path)).href) as Promise<object>;
  // The first of `paths` that the build has (builds before the compiler's split had flat src/tc).
  const first = async (...paths: string[]): Promise<object> => {
    for (const p of paths) if (existsSync(resolve(root, p))) return mod(p);
    throw new Error(`${root} has none of ${paths.join(', ')}`);
  };
  return Object.assign(
    {},
    await mod('src/cluster/build-snapshot.js'),
    await mod('src/policy/build-model.js'),
    await mod('src/cluster/snapshot-diff.js'),
    await mod('src/policy/update-model.js'),
    existsSync(resolve(root, 'src/policy/model-index.js')) ? await mod('src/policy/model-index.js') : {},
    await first('src/tc/compile/node.js', 'src/tc/compile-node.js'),
    await first('src/tc/compile/options.js', 'src/tc/compile-options.js'),
  ) as Build;
}

interface Run {
  name: string;
  b: Build;
  snapshot: unknown;
  model: unknown;
  compiler: InstanceType<Build['NodeCompiler']>;
  indexes: unknown;
  last: unknown;
  update: number[];
  compile: number[];
  fellBack: boolean;
}

export async function compareBuilds(other: string, changes: number): Promise<void> {
  if (!(changes >= 2)) throw new Error(`--changes must be at least 2 (got ${changes})`);
  // Short runs keep half their changes (with all 40 left out, a median of nothing is NaN).
  const warmup = Math.min(WARMUP, Math.floor(changes / 2));
  const here = resolve(new URL('..', import.meta.url).pathname);
  const synth = synthesize(COMPILE_TIME_CLUSTER);
  const opts = { networkPlugins: [PLUGIN] };
  const sourced = (objs: Obj[]) => objs.map((obj) => ({ obj }));
  const runs: Run[] = [];
  for (const [name, root] of [
    ['this build', here],
    ['other build', resolve(other)],
  ] as const) {
    const b = await load(root);
    const snapshot = b.buildSnapshot(sourced(synth.objects));
    const model = b.buildPolicyModel(snapshot, opts);
    const compiler = new b.NodeCompiler(b.DEFAULT_COMPILE_OPTIONS);
    const last = compiler.compile(model, synth.node, snapshot.nodes.get(synth.node));
    const indexes = b.ModelIndexes ? new b.ModelIndexes() : undefined;
    runs.push({
      name,
      b,
      snapshot,
      model,
      compiler,
      indexes,
      last,
      update: [],
      compile: [],
      fellBack: false,
    });
  }
  const [, index] =
    [...synth.localPods.entries()].find(([k]) => k.includes('/api-')) ?? [...synth.localPods.entries()][0]!;
  let objects = synth.objects;
  for (let i = 0; i < changes; i++) {
    objects = withLabelChange(objects, index, i % 2 === 0 ? 'search' : 'api');
    // Which build goes first changes every other change: each goes first for both directions
    // of the label change (the two may cost differently).
    for (const r of Math.floor(i / 2) % 2 === 0 ? runs : [...runs].reverse()) {
      const next = r.b.buildSnapshot(sourced(objects));
      const delta = r.b.diffSnapshots(r.snapshot, next);
      const t0 = performance.now();
      const upd =
        delta.kind === 'pods'
          ? r.b.updatePolicyModel(r.model, r.snapshot, next, delta.changed ?? [], opts, r.indexes)
          : { model: r.b.buildPolicyModel(next, opts), incremental: false, delta: undefined };
      const t1 = performance.now();
      r.last = r.compiler.compile(
        upd.model,
        synth.node,
        next.nodes.get(synth.node),
        undefined,
        undefined,
        upd.delta,
      );
      const t2 = performance.now();
      if (!upd.incremental) r.fellBack = true;
      if (i >= warmup) {
        r.update.push(t1 - t0);
        r.compile.push(t2 - t1);
      }
      r.snapshot = next;
      r.model = upd.model;
    }
  }
  const [a, b] = runs as [Run, Run];
  const recompile = (r: Run) => r.update.map((u, i) => u + r.compile[i]!);
  const rows = (['update', 'compile', 'recompile'] as const).map((k) => {
    const of = (r: Run) => (k === 'recompile' ? recompile(r) : r[k]);
    return [k, fmtMs(median(of(a))), fmtMs(median(of(b))), (median(of(a)) / median(of(b))).toFixed(3)];
  });
  console.log(
    `lockstep: ${changes - warmup} pod label changes (after ${warmup}) on 5,000 pods x 500 policies, node ${synth.node}`,
  );
  console.log(table(['median', a.name, b.name, 'this/other'], rows));
  console.log(
    `same pipeline after the last change: ${JSON.stringify(a.last) === JSON.stringify(b.last) ? 'yes' : 'NO'}` +
      `${runs.some((r) => r.fellBack) ? '; a build fell back to a full model build' : ''}`,
  );
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const other = arg('--other');
  if (!other) {
    console.error('usage: node build/bench/compare-builds.js --other DIR [--changes N]');
    process.exitCode = 2;
  } else {
    compareBuilds(other, Number(arg('--changes') ?? 300)).catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
  }
}
