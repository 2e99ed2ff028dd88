import { expect } from 'chai';
import { NodePipelineBuilder } from '../../../src/agent/node-pipeline-builder.js';
import { SnapshotBuilder, type SourcedObject } from '../../../src/cluster/build-snapshot.js';
import { loadManifestsDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import { ruleChange } from '../../../src/policy/update-model.js';
import { compileNode } from '../../../src/tc/compile-node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile-options.js';

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

  it('keeps one step of rule history: a replaced rule knows the rule before it, not older ones', async () => {
    const { objects } = await loadManifestsDir('examples/manifests');
    const builder = new NodePipelineBuilder(NODE, PLUGINS, DEFAULT_COMPILE_OPTIONS);
    // One snapshot builder, as the agent's state source.
    const snapshots = new SnapshotBuilder();
    const toApi = (m: ReturnType<NodePipelineBuilder['build']>['model']) =>
      m.interfaces.find((i) => i.pod === 'app/frontend')!.egress.rules[0]!;
    const r0 = toApi(builder.build(snapshots.build(objects)).model);
    const r1 = toApi(builder.build(snapshots.build(withPodLabels(objects, 'api-2', { app: 'other' }))).model);
    expect(r1).to.not.equal(r0);
    expect(ruleChange(r1)?.previous).to.equal(r0);
    expect([...(ruleChange(r1)?.addresses ?? [])].sort()).to.deep.equal(['10.56.1.12', 'fd00:56::12']);
    const r2 = toApi(builder.build(snapshots.build(objects)).model);
    expect(ruleChange(r2)?.previous).to.equal(r1);
    expect(ruleChange(r1), 'the older step is forgotten').to.equal(undefined);
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
