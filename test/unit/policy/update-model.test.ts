// The incremental path (updatePolicyModel + NodeCompiler) against a full rebuild: on random
// clusters and random pod edits, the updated model and the recompiled pipelines of every node must
// equal what buildPolicyModel and compileNode give from scratch.

import { expect } from 'chai';
import fc from 'fast-check';
import { buildSnapshot } from '../../../src/cluster/build-snapshot.js';
import { diffSnapshots } from '../../../src/cluster/snapshot-diff.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import type { PolicyModel } from '../../../src/policy/types.js';
import { ModelIndexes } from '../../../src/policy/model-index.js';
import { updatePolicyModel } from '../../../src/policy/update-model.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../../src/tc/compile/options.js';
import { compileNode, NodeCompiler } from '../../../src/tc/compile/node.js';
import { clusterArb, PLUGIN } from '../tc/cluster-gen.js';
import { clusterObjects, policy } from '../tc/fixtures.js';

const OPTS = { networkPlugins: [PLUGIN] };
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

type Obj = Record<string, unknown> & { kind?: string; metadata?: Record<string, unknown> };

interface Edit {
  pod: number;
  op: 'labels' | 'delete' | 'finish' | 'copy' | 'address' | 'noAddress' | 'node' | 'ports';
  labels: Record<string, string>;
}

const editArb: fc.Arbitrary<Edit> = fc.record({
  pod: fc.nat(),
  op: fc.constantFrom(
    'labels',
    'labels',
    'labels',
    'delete',
    'finish',
    'copy',
    'address',
    'noAddress',
    'node',
    'ports',
  ),
  labels: fc.record(
    {
      app: fc.constantFrom('web', 'api', 'db'),
      tier: fc.constantFrom('front', 'back'),
      role: fc.constantFrom('x', 'y'),
    },
    { requiredKeys: [] },
  ),
}) as fc.Arbitrary<Edit>;

/** The objects with one pod edited (labels, deleted, finished, or copied under a new name). */
function applyEdit(objects: Obj[], e: Edit, step: number): Obj[] {
  const pods = objects.map((o, i) => [o, i] as const).filter(([o]) => o.kind === 'Pod');
  if (pods.length === 0) return objects;
  const [pod, at] = pods[e.pod % pods.length]!;
  const out = [...objects];
  const meta = pod.metadata ?? {};
  if (e.op === 'delete') out.splice(at, 1);
  else if (e.op === 'labels') out[at] = { ...pod, metadata: { ...meta, labels: e.labels } };
  else if (e.op === 'finish') out[at] = { ...pod, status: { ...(pod.status as object), phase: 'Succeeded' } };
  else if (e.op === 'address' || e.op === 'noAddress') {
    // Move the pod's secondary addresses (possibly onto another pod's: a clash), or drop them.
    const annotations = (meta.annotations ?? {}) as Record<string, string>;
    const status = JSON.parse(annotations['k8s.v1.cni.cncf.io/network-status'] ?? '[]') as {
      ips?: string[];
      default?: boolean;
    }[];
    for (const s of status) {
      if (s.default || !s.ips) continue;
      s.ips =
        e.op === 'noAddress'
          ? []
          : s.ips.map((ip) =>
              ip.replace(/(\d+)(\/\d+)?$/, (_, n: string) => `${(Number(n) + step + 1) % 250}`),
            );
    }
    out[at] = {
      ...pod,
      metadata: {
        ...meta,
        annotations: { ...annotations, 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) },
      },
    };
  } else if (e.op === 'node') {
    const spec = pod.spec as Record<string, unknown>;
    out[at] = { ...pod, spec: { ...spec, nodeName: spec.nodeName === 'n1' ? 'n2' : 'n1' } };
  } else if (e.op === 'ports') {
    // Named ports change: one container port renamed or renumbered.
    const spec = pod.spec as { containers: { ports?: { name?: string; containerPort: number }[] }[] };
    const containers = spec.containers.map((c) => ({
      ...c,
      ports: (c.ports ?? []).map((p, k) =>
        k === 0 ? { ...p, containerPort: p.containerPort === 80 ? 8080 : 80 } : p,
      ),
    }));
    out[at] = { ...pod, spec: { ...spec, containers } };
  } else
    out.push({ ...pod, metadata: { ...meta, name: `${String(meta.name)}-copy${step}`, labels: e.labels } });
  return out;
}

/** Everything observable in a model, as comparable JSON. */
function modelJson(m: PolicyModel): unknown {
  return {
    interfaces: m.interfaces.map((i) => ({ ...i, podInfo: i.podInfo })),
    // Maps are looked up, never iterated in order: compare their contents.
    byKey: [...m.byKey.entries()].map(([k, v]) => [k, v.key]).sort(),
    // Lists in key order, each entry the interface object itself.
    byNetwork: [...m.byNetwork.entries()]
      .map(([n, list]) => [n, list.map((i) => i.key), list.every((i) => m.byKey.get(i.key) === i)])
      .sort(),
    byIp: [...m.byIp.entries()]
      .map(([n, ips]) => [n, [...ips.entries()].map(([ip, v]) => [ip, v.key]).sort()])
      .sort(),
    policies: m.policies,
    problems: m.problems,
  };
}

function nodesOf(s: ClusterSnapshot): string[] {
  return [...new Set([...s.nodes.keys(), ...s.pods.map((p) => p.nodeName)])].sort();
}

describe('incremental model update and node recompile', function () {
  this.timeout(120_000);

  it('a rule that gets its first user in one update is updated when a later pod matches its peers', () => {
    // x/web-policy selects role=web pods, ingress from role=api pods. No pod is role=web at first,
    // so the rule is not in the model; the first edit gives it a user, the second a new peer.
    const pol = policy('x', 'web-policy', {
      podSelector: { matchLabels: { role: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'api' } } }] }],
    });
    const steps: [string, Record<string, string>][] = [
      ['a', { role: 'web' }],
      ['b', { role: 'api' }],
    ];
    let objects = clusterObjects([pol]) as Obj[];
    let snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
    let model = buildPolicyModel(snapshot, OPTS);
    const indexes = new ModelIndexes();
    for (const [name, labels] of steps) {
      objects = objects.map((o) =>
        o.kind === 'Pod' && o.metadata?.name === name
          ? { ...o, metadata: { ...o.metadata, labels: { pod: name, ...labels } } }
          : o,
      );
      const next = buildSnapshot(objects.map((obj) => ({ obj })));
      const diff = diffSnapshots(snapshot, next);
      expect(diff.kind).to.equal('pods');
      const upd = updatePolicyModel(
        model,
        snapshot,
        next,
        diff.kind === 'pods' ? diff.changed : [],
        OPTS,
        indexes,
      );
      expect(upd.incremental, `update for ${name}`).to.equal(true);
      expect(modelJson(upd.model)).to.deep.equal(modelJson(buildPolicyModel(next, OPTS)));
      snapshot = next;
      model = upd.model;
    }
    const a = model.interfaces.find((i) => i.pod === 'x/a')!;
    expect(a.ingress.rules[0]!.peers).to.deep.equal({
      kind: 'blocks',
      blocks: [
        { cidr: '10.0.0.2/32', except: [] },
        { cidr: 'fd00::2/128', except: [] },
      ],
    });
  });

  it('a rule the update resolves itself lists ipBlocks, namespaceSelector peers and the changed pod as the full build does', () => {
    // No pod is role=web at first, so the egress rule is not in the model: the update resolves it
    // when pod a becomes role=web, with a selecting itself, c (namespace y, team=red), an ipBlock
    // with an except, and an ipBlock equal to c's host block (listed once).
    const pol = policy('x', 'web-egress', {
      podSelector: { matchLabels: { role: 'web' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            { ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.1/32'] } },
            { namespaceSelector: { matchLabels: { team: 'red' } } },
            { podSelector: { matchLabels: { role: 'web' } } },
            { ipBlock: { cidr: '10.0.0.3/32' } },
            { namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } },
          ],
        },
      ],
    });
    let objects = clusterObjects([pol]) as Obj[];
    const snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
    const model = buildPolicyModel(snapshot, OPTS);
    objects = objects.map((o) =>
      o.kind === 'Pod' && o.metadata?.name === 'a'
        ? { ...o, metadata: { ...o.metadata, labels: { pod: 'a', role: 'web' } } }
        : o,
    );
    const next = buildSnapshot(objects.map((obj) => ({ obj })));
    const diff = diffSnapshots(snapshot, next);
    const upd = updatePolicyModel(
      model,
      snapshot,
      next,
      diff.kind === 'pods' ? diff.changed : [],
      OPTS,
      new ModelIndexes(),
    );
    expect(upd.incremental).to.equal(true);
    expect(modelJson(upd.model)).to.deep.equal(modelJson(buildPolicyModel(next, OPTS)));
    const a = upd.model.interfaces.find((i) => i.pod === 'x/a')!;
    expect(a.egress.rules[0]!.peers).to.deep.equal({
      kind: 'blocks',
      blocks: [
        { cidr: '10.0.0.0/24', except: ['10.0.0.1/32'] },
        { cidr: '10.0.0.1/32', except: [] },
        { cidr: '10.0.0.2/32', except: [] },
        { cidr: '10.0.0.3/32', except: [] },
        { cidr: 'fd00::1/128', except: [] },
        { cidr: 'fd00::2/128', except: [] },
        { cidr: 'fd00::3/128', except: [] },
      ],
    });
  });

  it('an update reads the index from the owner its caller passes, and a new owner indexes the model again', () => {
    const pol = policy('x', 'web-policy', {
      podSelector: { matchLabels: { role: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'api' } } }] }],
    });
    let objects = clusterObjects([pol]) as Obj[];
    let snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
    let model = buildPolicyModel(snapshot, OPTS);
    const owners = [new ModelIndexes(), new ModelIndexes()];
    // The first update's owner indexes the full build; the second update's owner never saw the
    // first update's model and indexes it from its fields.
    for (const [step, [name, labels]] of (
      [
        ['a', { role: 'web' }],
        ['b', { role: 'api' }],
      ] as const
    ).entries()) {
      objects = objects.map((o) =>
        o.kind === 'Pod' && o.metadata?.name === name
          ? { ...o, metadata: { ...o.metadata, labels: { pod: name, ...labels } } }
          : o,
      );
      const next = buildSnapshot(objects.map((obj) => ({ obj })));
      const diff = diffSnapshots(snapshot, next);
      const changed = diff.kind === 'pods' ? diff.changed : [];
      const upd = updatePolicyModel(model, snapshot, next, changed, OPTS, owners[step]!);
      expect(upd.incremental).to.equal(true);
      expect(modelJson(upd.model)).to.deep.equal(modelJson(buildPolicyModel(next, OPTS)));
      snapshot = next;
      model = upd.model;
    }
  });

  // Also with every VF's chain +2 split per address block (docs/tc-rule-pipeline.md §2).
  const variants: [string, CompileOptions][] = [
    ['', DEFAULT_COMPILE_OPTIONS],
    [', chain +2 split per block', { ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: 0 }],
    [
      ', split per block and sub-block',
      { ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: 0, overrideSubBlockSplit: 0 },
    ],
  ];
  for (const [label, compileOpts] of variants)
    it(`equal a full rebuild after random pod edits (${RUNS} clusters${label})`, () => {
      let incremental = 0;
      let fallbacks = 0;
      let reusedDevices = 0;
      fc.assert(
        fc.property(clusterArb, fc.array(editArb, { minLength: 1, maxLength: 3 }), (cluster, edits) => {
          let objects = cluster.objects as Obj[];
          let snapshot = buildSnapshot(objects.map((obj) => ({ obj })));
          let model = buildPolicyModel(snapshot, OPTS);
          const compilers = new Map<string, NodeCompiler>();
          const previous = new Map<string, ReturnType<NodeCompiler['compile']>>();
          for (const n of nodesOf(snapshot)) {
            const c = new NodeCompiler(compileOpts);
            compilers.set(n, c);
            previous.set(n, c.compile(model, n, snapshot.nodes.get(n)));
          }
          const indexes = new ModelIndexes();
          edits.forEach((e, step) => {
            objects = applyEdit(objects, e, step);
            const next = buildSnapshot(objects.map((obj) => ({ obj })));
            const diff = diffSnapshots(snapshot, next);
            if (diff.kind !== 'pods') return; // a new namespace: the agent rebuilds in full
            const upd = updatePolicyModel(model, snapshot, next, diff.changed, OPTS, indexes);
            if (upd.incremental) incremental++;
            else fallbacks++;
            const fresh = buildPolicyModel(next, OPTS);
            expect(modelJson(upd.model)).to.deep.equal(modelJson(fresh));
            for (const [n, c] of compilers) {
              const got = c.compile(upd.model, n, next.nodes.get(n), undefined, undefined, upd.delta);
              const want = compileNode(fresh, n, next.nodes.get(n), compileOpts);
              expect(got, `node ${n}`).to.deep.equal(want);
              const before = new Set(previous.get(n)!.devices);
              reusedDevices += got.devices.filter((d) => before.has(d)).length;
              previous.set(n, got);
            }
            snapshot = next;
            model = upd.model;
          });
        }),
        { seed: Number(process.env.PROPERTY_SEED ?? 7), numRuns: RUNS },
      );
      console.log(
        `      incremental updates ${incremental}, full-build fallbacks ${fallbacks}, devices reused ${reusedDevices}`,
      );
      expect(incremental).to.be.greaterThan(fallbacks);
      expect(reusedDevices).to.be.greaterThan(0);
    });
});
