// Problems are reported (logged, and posted through the source as Events) once while they last:
// one that goes away and comes back is reported again, and the set of reported texts holds only
// the current problems.

import { expect } from 'chai';
import { NodePipelineBuilder } from '../../../src/agent/node-pipeline-builder.js';
import { ReportOnce } from '../../../src/agent/report-once.js';
import { reconcileOnce, type AgentOptions } from '../../../src/agent/run-agent.js';
import { SnapshotBuilder, type SourcedObject } from '../../../src/cluster/build-snapshot.js';
import { loadManifestsDir } from '../../../src/cluster/load-manifests.js';
import { formatProblem, type Problem } from '../../../src/cluster/problem.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import type { StateSource } from '../../../src/cluster/state-source.js';
import { kernelReader, Reconciler } from '../../../src/tc/apply/reconcile.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { FakeTc } from '../tc/apply/fake-tc.js';

const PLUGINS = ['accelerated-bridge'];
const NODE = 'worker-1';
const UPLINKS = 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors';

type Obj = {
  kind?: string;
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

/** An invalid extra entry in the node's uplink annotation: a problem of the snapshot. */
function withBadUplink(objects: SourcedObject[], entry: string): SourcedObject[] {
  return objects.map((s) => {
    const o = s.obj as Obj;
    if (o.kind !== 'Node' || o.metadata.name !== NODE) return s;
    const annotations = {
      ...o.metadata.annotations,
      [UPLINKS]: `${o.metadata.annotations?.[UPLINKS] ?? ''},${entry}`,
    };
    return { ...s, obj: { ...o, metadata: { ...o.metadata, annotations } } };
  });
}

function withPodLabels(
  objects: SourcedObject[],
  name: string,
  labels: Record<string, string>,
): SourcedObject[] {
  return objects.map((s) => {
    const o = s.obj as Obj;
    if (o.kind !== 'Pod' || o.metadata.name !== name) return s;
    return { ...s, obj: { ...o, metadata: { ...o.metadata, labels } } };
  });
}

describe('ReportOnce: a problem is reported once while it lasts', () => {
  it('reports a problem once over passes, and again after a complete pass without it', () => {
    const reported = new Set<string>();
    const pass = (texts: string[], complete = true) => {
      const once = new ReportOnce(reported);
      const first = texts.filter((t) => once.first(t));
      if (complete) once.complete();
      return first;
    };
    expect(pass(['a', 'b'])).to.deep.equal(['a', 'b']);
    expect(pass(['a', 'b'])).to.deep.equal([]);
    expect(pass(['b'])).to.deep.equal([]);
    expect([...reported]).to.deep.equal(['b']);
    expect(pass(['a', 'b'])).to.deep.equal(['a']);
    // A pass that did not see the whole list (abandoned) forgets nothing.
    expect(pass([], false)).to.deep.equal([]);
    expect(pass(['a', 'b'])).to.deep.equal([]);
    expect(pass([])).to.deep.equal([]);
    expect(reported.size).to.equal(0);
  });

  it('reconcileOnce reports a problem again when it comes back, across full and incremental builds', async () => {
    const { objects } = await loadManifestsDir('examples/manifests');
    const snapshots = new SnapshotBuilder();
    const steps = [
      objects,
      withBadUplink(objects, 'bad!one=p9'),
      // Only a pod changes: the model is updated incrementally, the problem is still there.
      withPodLabels(withBadUplink(objects, 'bad!one=p9'), 'api-2', { app: 'other' }),
      withBadUplink(objects, 'bad!two=p9'),
      objects,
      withBadUplink(objects, 'bad!one=p9'),
    ].map((s) => snapshots.build(s));
    const devices = new NodePipelineBuilder(NODE, PLUGINS, DEFAULT_COMPILE_OPTIONS)
      .build(steps[0]!)
      .pipeline.devices.map((d) => d.device)
      .sort();
    const tc = new FakeTc(devices, new Map());
    const reconciler = new Reconciler(tc, kernelReader(tc), DEFAULT_COMPILE_OPTIONS.ctZone);
    const builder = new NodePipelineBuilder(NODE, PLUGINS, DEFAULT_COMPILE_OPTIONS);
    const o: AgentOptions = {
      nodeName: NODE,
      once: false,
      tcBinary: 'tc',
      networkPlugins: PLUGINS,
      compile: DEFAULT_COMPILE_OPTIONS,
    };
    let current: ClusterSnapshot = steps[0]!;
    let reports: Problem[] = [];
    const source: StateSource = {
      snapshot: () => Promise.resolve(current),
      onChange: () => undefined,
      report: (p) => reports.push(p),
      stop: () => undefined,
    };
    const seen = new Set<string>();
    const reportedAt: string[][] = [];
    const keptAt: string[][] = [];
    // A second builder fed the same snapshots says which path each pass's model took.
    const mirror = new NodePipelineBuilder(NODE, PLUGINS, DEFAULT_COMPILE_OPTIONS);
    const hows: string[] = [];
    for (const snapshot of steps) {
      current = snapshot;
      reports = [];
      hows.push(mirror.buildModel(snapshot).how);
      const r = await reconcileOnce(source, reconciler, builder, o, seen);
      expect(r.ok).to.equal(true);
      reportedAt.push(reports.map((p) => formatProblem(p)).filter((t) => t.includes('bad!')));
      keptAt.push([...seen].filter((t) => t.includes('bad!')).map((t) => /bad!\w+/.exec(t)![0]));
    }
    expect(hows[2]).to.match(/^incremental/);
    expect(reportedAt.map((r) => r.length)).to.deep.equal([0, 1, 0, 1, 0, 1]);
    expect(reportedAt[1]![0]).to.include('"bad!one"');
    expect(reportedAt[3]![0]).to.include('"bad!two"');
    expect(reportedAt[5]![0]).to.include('"bad!one"');
    // The set holds the current problems only.
    expect(keptAt).to.deep.equal([[], ['bad!one'], ['bad!one'], ['bad!two'], [], ['bad!one']]);
  });
});
