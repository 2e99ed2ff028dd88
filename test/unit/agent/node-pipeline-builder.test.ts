import { expect } from 'chai';
import { NodePipelineBuilder } from '../../../src/agent/node-pipeline-builder.js';
import { SnapshotBuilder, type SourcedObject } from '../../../src/cluster/build-snapshot.js';
import { loadManifestsDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { ModelIndexes } from '../../../src/policy/model-index.js';
import { updatePolicyModel } from '../../../src/policy/update-model.js';
import type { ModelDelta, PolicyModel } from '../../../src/policy/types.js';
import { diffSnapshots } from '../../../src/cluster/snapshot-diff.js';
import { CompileMemo } from '../../../src/tc/compile/reuse/compile-memo.js';
import { NodeCompiler } from '../../../src/tc/compile/node.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';

const PLUGINS = ['accelerated-bridge'];
const NODE = 'worker-1';

type Obj = { kind?: string; metadata?: { name?: string; labels?: Record<string, string> } };

function withPodLabels(
  objects: SourcedObject[],
  name: string,
  labels: Record<string, string>,
): SourcedObject[] {
  return objects.map((s) => {
    const o = s.obj as Obj;
    if (o.kind !== 'Pod' || o.metadata?.name !== name) return s;
    return { ...s, obj: { ...o, metadata: { ...o.metadata, labels } } };
  });
}

/** The objects with an ignored (invalid) extra entry in a Node's uplink annotation: only problems change. */
function withBadUplinkEntry(objects: SourcedObject[], node: string): SourcedObject[] {
  return objects.map((s) => {
    const o = s.obj as Obj & { metadata: { annotations?: Record<string, string> } };
    if (o.kind !== 'Node' || o.metadata.name !== node) return s;
    const key = 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors';
    const annotations = {
      ...o.metadata.annotations,
      [key]: `${o.metadata.annotations?.[key] ?? ''},bad!name`,
    };
    return { ...s, obj: { ...o, metadata: { ...o.metadata, annotations } } };
  });
}

/** What a fresh full compile gives for the node: the reference for every incremental step. */
function fullCompile(snapshot: ReturnType<SnapshotBuilder['build']>) {
  return compileNode(
    buildPolicyModel(snapshot, { networkPlugins: PLUGINS }),
    NODE,
    snapshot.nodes.get(NODE),
    DEFAULT_COMPILE_OPTIONS,
  );
}

function deepFreeze(o: unknown): void {
  if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return;
  Object.freeze(o);
  for (const v of Object.values(o)) deepFreeze(v);
}

describe('NodePipelineBuilder (the agent path from snapshot to pipeline)', () => {
  it('follows an egress rule to the address of a pod on another node that starts or stops matching it', async () => {
    // frontend (worker-1) may open TCP 8080 to app=api pods; api-2 runs on worker-2. Its label
    // change replaces the rule with one that differs at api-2's addresses only, which the
    // compiler must not take for "decides the same".
    const { objects } = await loadManifestsDir('examples/manifests');
    const builder = new NodePipelineBuilder(NODE, PLUGINS, DEFAULT_COMPILE_OPTIONS);
    // One snapshot builder, as the agent's state source.
    const snapshots = new SnapshotBuilder();
    const steps = [
      objects,
      withPodLabels(objects, 'api-2', { app: 'other' }),
      objects,
      withPodLabels(objects, 'api-2', { app: 'other' }),
    ];
    for (const [i, step] of steps.entries()) {
      const snapshot = snapshots.build(step);
      const got = builder.build(snapshot);
      if (i > 0) expect(got.how, `step ${i}`).to.match(/^incremental/);
      const want = fullCompile(snapshot);
      expect(got.pipeline, `step ${i}`).to.deep.equal(want);
      // The compiler keeps parts of its output for the next compile and never changes them:
      // frozen, any write would throw in the next steps.
      deepFreeze(got.pipeline);
    }
  });

  it("an update's delta names the rule it replaced; the compile memo keeps one step of history", async () => {
    const { objects } = await loadManifestsDir('examples/manifests');
    const snapshots = new SnapshotBuilder();
    const opts = { networkPlugins: PLUGINS };
    const toApi = (m: PolicyModel) => m.interfaces.find((i) => i.pod === 'app/frontend')!.egress.rules[0]!;
    const s0 = snapshots.build(objects);
    const m0 = buildPolicyModel(s0, opts);
    const indexes = new ModelIndexes();
    const update = (prev: PolicyModel, from: typeof s0, to: typeof s0) => {
      const diff = diffSnapshots(from, to);
      if (diff?.kind !== 'pods') throw new Error('expected a pod change');
      const upd = updatePolicyModel(prev, from, to, diff.changed, opts, indexes);
      expect(upd.incremental).to.equal(true);
      return upd;
    };
    const s1 = snapshots.build(withPodLabels(objects, 'api-2', { app: 'other' }));
    const u1 = update(m0, s0, s1);
    const [r0, r1] = [toApi(m0), toApi(u1.model)];
    expect(r1).to.not.equal(r0);
    expect(u1.delta.replaced.get(r1)?.previous).to.equal(r0);
    expect([...(u1.delta.replaced.get(r1)?.addresses ?? [])].sort()).to.deep.equal([
      '10.56.1.12',
      'fd00:56::12',
    ]);
    const u2 = update(u1.model, s1, snapshots.build(objects));
    const r2 = toApi(u2.model);
    expect(u2.delta.replaced.get(r2)?.previous).to.equal(r1);
    expect(u2.delta.replaced.has(r1), 'a delta names only its own replacements').to.equal(false);
    const memo = new CompileMemo();
    memo.record(u1.delta);
    expect(memo.ruleChanges.get(r1)?.previous).to.equal(r0);
    memo.record(u2.delta);
    expect(memo.ruleChanges.get(r2)?.previous).to.equal(r1);
    expect(memo.ruleChanges.get(r1), 'the older step is forgotten').to.equal(undefined);
  });

  it("the update's delta reaches the compile: replaced rules are compared with the last compile's at the changed addresses only", async () => {
    const { objects } = await loadManifestsDir('examples/manifests');
    const snapshots = new SnapshotBuilder();
    const opts = { networkPlugins: PLUGINS };
    const s0 = snapshots.build(objects);
    const m0 = buildPolicyModel(s0, opts);
    const s1 = snapshots.build(withPodLabels(objects, 'api-2', { app: 'other' }));
    const diff = diffSnapshots(s0, s1);
    if (diff?.kind !== 'pods') throw new Error('expected a pod change');
    const upd = updatePolicyModel(m0, s0, s1, diff.changed, opts, new ModelIndexes());
    const changed = new Set([...upd.delta.replaced.values()].flatMap((c) => [...c.addresses]));
    expect([...changed].sort()).to.deep.equal(['10.56.1.12', 'fd00:56::12']);
    // Which rule lists of the new model the compile compared with the last compile's, and what
    // it found, with and without the delta.
    const compared = (delta: ModelDelta | undefined) => {
      const memo = new CompileMemo();
      const compiler = new NodeCompiler(DEFAULT_COMPILE_OPTIONS, memo);
      compiler.compile(m0, NODE, s0.nodes.get(NODE));
      const out = compiler.compile(upd.model, NODE, s1.nodes.get(NODE), undefined, undefined, delta);
      const lists = upd.model.interfaces.flatMap((i) => [i.ingress.rules, i.egress.rules]);
      return { out, found: lists.flatMap((l) => memo.changedAt.get(l) ?? []) };
    };
    const withDelta = compared(upd.delta);
    expect(withDelta.found.length).to.be.greaterThan(0);
    for (const f of withDelta.found) {
      expect(f.at, 'the delta says where the lists differ').to.not.equal(undefined);
      expect([...f.at!].every((ip) => changed.has(ip))).to.equal(true);
    }
    const without = compared(undefined);
    expect(without.found).to.have.length(withDelta.found.length);
    for (const f of without.found)
      expect(f.at, 'without it, the new rules are just other rules').to.equal(undefined);
    expect(withDelta.out).to.deep.equal(without.out);
    expect(withDelta.out).to.deep.equal(fullCompile(s1));
  });

  it('hands the compile the deltas of every update since the last compile, merged, then forgets them', async () => {
    const { objects } = await loadManifestsDir('examples/manifests');
    const builder = new NodePipelineBuilder(NODE, PLUGINS, DEFAULT_COMPILE_OPTIONS);
    const snapshots = new SnapshotBuilder();
    const seen: (ModelDelta | undefined)[] = [];
    const compile = NodeCompiler.prototype.compile;
    NodeCompiler.prototype.compile = function (this: NodeCompiler, ...args: Parameters<typeof compile>) {
      seen.push(args[5]);
      return compile.apply(this, args);
    };
    try {
      const toApi = (m: PolicyModel) => m.interfaces.find((i) => i.pod === 'app/frontend')!.egress.rules[0]!;
      const s0 = snapshots.build(objects);
      const r0 = toApi(builder.build(s0).model);
      // Two updates, the agent stopping before the first one's compile: api-2 leaves frontend's
      // egress rule, then db changes (which that rule does not select).
      const s1 = snapshots.build(withPodLabels(objects, 'api-2', { app: 'other' }));
      const m1 = builder.buildModel(s1).model;
      const r1 = toApi(m1);
      expect(r1).to.not.equal(r0);
      const s2 = snapshots.build(
        withPodLabels(withPodLabels(objects, 'api-2', { app: 'other' }), 'db', { app: 'x' }),
      );
      const m2 = builder.buildModel(s2);
      expect(m2.how).to.match(/^incremental/);
      expect(toApi(m2.model), "the second update keeps frontend's rule").to.equal(r1);
      const got = builder.compileNode(m2.model, s2);
      const merged = seen[seen.length - 1]!;
      expect(got).to.deep.equal(fullCompile(s2));
      expect(merged.replaced.get(r1)?.previous, "the first update's change reaches the compile").to.equal(r0);
      expect(merged.replaced.size).to.be.greaterThan(1);
      // Compiled: the next compile (no change) gets an empty delta.
      builder.build(s2);
      expect(seen[seen.length - 1]!.replaced.size).to.equal(0);
      expect(builder.build(s2).how).to.equal('no change');
    } finally {
      NodeCompiler.prototype.compile = compile;
    }
  });

  it('updates after pod changes, rebuilds after other changes, and always equals a full compile', async () => {
    const { objects } = await loadManifestsDir('examples/manifests');
    const builder = new NodePipelineBuilder(NODE, PLUGINS, DEFAULT_COMPILE_OPTIONS);
    // One snapshot builder, as the agent's state source.
    const snapshots = new SnapshotBuilder();
    const steps: { objects: SourcedObject[]; how: RegExp }[] = [
      { objects, how: /^full build \(first run\)$/ },
      { objects, how: /^no change$/ },
      {
        objects: withPodLabels(objects, 'api-1', { app: 'other' }),
        how: /^incremental \(1 pod\(s\) changed\)$/,
      },
      {
        objects: withPodLabels(objects, 'api-1', { app: 'other' }).filter(
          (s) =>
            (s.obj as Obj).kind !== 'MultiNetworkPolicy' ||
            (s.obj as Obj).metadata?.name !== 'allow-api-from-frontend',
        ),
        how: /^full build \(policies changed\)$/,
      },
      { objects, how: /^full build \(policies changed\)$/ },
      // Only the snapshot's problems change: the model carries them, so it is rebuilt.
      { objects: withBadUplinkEntry(objects, NODE), how: /^full build \(problems changed\)$/ },
      { objects, how: /^full build \(problems changed\)$/ },
    ];
    let previous: ReturnType<NodePipelineBuilder['build']> | undefined;
    for (const [i, step] of steps.entries()) {
      const snapshot = snapshots.build(step.objects);
      const got = builder.build(snapshot);
      expect(got.how, `step ${i}`).to.match(step.how);
      const want = fullCompile(snapshot);
      expect(got.pipeline, `step ${i}`).to.deep.equal(want);
      expect(got.model.problems, `step ${i}`).to.deep.equal(
        buildPolicyModel(snapshot, { networkPlugins: PLUGINS }).problems,
      );
      if (i === 1) {
        // Nothing changed: every device is the very object compiled before.
        expect(got.pipeline.devices.every((d, k) => d === previous!.pipeline.devices[k])).to.equal(true);
      }
      previous = got;
    }
  });
});
