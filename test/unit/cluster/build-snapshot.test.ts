import { expect } from 'chai';
import fc from 'fast-check';
import {
  buildSnapshot,
  compareNames,
  SnapshotBuilder,
  type SourcedObject,
} from '../../../src/cluster/build-snapshot.js';

const ns = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});

const status = JSON.stringify([
  { name: 'cbr0', interface: 'eth0', ips: ['10.56.200.1'], default: true },
  { name: 'app/accel-net', interface: 'net1', ips: ['10.56.1.5/24'], mac: '02:56:00:00:00:05' },
]);

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'api',
    namespace: 'app',
    labels: { app: 'api' },
    annotations: { 'k8s.v1.cni.cncf.io/networks': 'accel-net', 'k8s.v1.cni.cncf.io/network-status': status },
  },
  spec: {
    nodeName: 'worker-1',
    containers: [
      { name: 'a', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9000 }] },
      { name: 'b', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] },
    ],
  },
};

const nad = {
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name: 'accel-net', namespace: 'app' },
  spec: { config: '{"type":"accelerated-bridge"}' },
};

const badPolicy = {
  apiVersion: 'k8s.cni.cncf.io/v1beta1',
  kind: 'MultiNetworkPolicy',
  metadata: { name: 'bad', namespace: 'app' },
  spec: { podSelector: {}, ingress: [{ ports: [{ port: true }] }] },
};

describe('buildSnapshot', () => {
  it('builds namespaces with the metadata.name label Kubernetes adds', () => {
    const s = buildSnapshot([{ obj: ns('x', { team: 'blue', 'kubernetes.io/metadata.name': 'wrong' }) }]);
    expect(s.namespaces.get('x')).to.deep.equal({ team: 'blue', 'kubernetes.io/metadata.name': 'x' });
    expect(s.problems).to.deep.equal([]);
  });

  it('reads pods: labels, node, named ports (TCP by default), interfaces', () => {
    const s = buildSnapshot([{ obj: ns('app') }, { obj: pod }, { obj: nad }]);
    expect(s.problems).to.deep.equal([]);
    expect(s.pods).to.deep.equal([
      {
        namespace: 'app',
        name: 'api',
        uid: 'app/api',
        labels: { app: 'api' },
        nodeName: 'worker-1',
        hostNetwork: false,
        phase: 'Running',
        namedPorts: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
        interfaces: [
          { network: 'app/accel-net', interface: 'net1', ips: ['10.56.1.5'], mac: '02:56:00:00:00:05' },
        ],
      },
    ]);
    expect(s.networks.get('app/accel-net')).to.deep.equal({
      key: 'app/accel-net',
      pluginType: 'accelerated-bridge',
    });
    expect(s.raw?.pods).to.have.length(1);
  });

  it('keeps a policy that fails the schema and reports why, with its source', () => {
    const s = buildSnapshot([{ obj: ns('app') }, { obj: badPolicy, source: 'p.yaml#1' }]);
    expect(s.policies.map((p) => p.metadata.name)).to.deep.equal(['bad']);
    expect(s.problems).to.have.length(1);
    expect(s.problems[0]).to.include({
      path: 'spec.ingress[0].ports[0].port',
      source: 'p.yaml#1',
      severity: 'error',
    });
  });

  it('ignores unknown kinds with a problem', () => {
    const s = buildSnapshot([
      { obj: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } } },
    ]);
    expect(s.problems.map((p) => p.message)).to.deep.equal(['unknown kind "Deployment"']);
  });

  it('keeps the first of duplicate objects (a later one could widen) and warns', () => {
    const s = buildSnapshot([
      { obj: ns('x', { v: '1' }), source: 'a.yaml#1' },
      { obj: ns('x', { v: '2' }), source: 'b.yaml#1' },
    ]);
    expect(s.namespaces.get('x')?.v).to.equal('1');
    expect(s.problems).to.have.length(1);
    expect(s.problems[0]).to.include({ severity: 'warning', object: 'Namespace x', source: 'b.yaml#1' });
    expect(s.problems[0]?.message).to.contain('a.yaml#1');
  });

  it('defaults a missing namespace to "default" and assumes namespaces nobody defined', () => {
    const s = buildSnapshot([{ obj: { ...badPolicy, metadata: { name: 'p' }, spec: { podSelector: {} } } }]);
    expect(s.policies[0]?.metadata.namespace).to.equal('default');
    expect(s.namespaces.get('default')).to.deep.equal({ 'kubernetes.io/metadata.name': 'default' });
    expect(s.problems.map((p) => p.severity)).to.deep.equal(['warning']);
  });

  it('reads node uplinks', () => {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'w',
        annotations: { 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors': 'p0' },
      },
    };
    expect(buildSnapshot([{ obj: node }]).nodes.get('w')).to.deep.equal({
      name: 'w',
      uplinks: { '*': 'p0' },
    });
  });

  it('warns when a pod asks for a network that network-status does not list', () => {
    const annotations = {
      ...pod.metadata.annotations,
      'k8s.v1.cni.cncf.io/networks': 'accel-net, accel-net-2',
    };
    const s = buildSnapshot([
      { obj: ns('app') },
      { obj: { ...pod, metadata: { ...pod.metadata, annotations } } },
    ]);
    expect(s.problems.map((p) => p.message)).to.deep.equal(['network-status does not list app/accel-net-2']);
  });

  it('reads the same objects again to an equal snapshot, the same objects under another source to theirs', () => {
    const objects = [{ obj: ns('app') }, { obj: pod, source: 'a.yaml#2' }, { obj: ns('x') }];
    const first = buildSnapshot(objects);
    expect(buildSnapshot(objects)).to.deep.equal(first);
    const moved = buildSnapshot([{ obj: ns('x') }, { obj: pod, source: 'b.yaml#1' }, { obj: ns('app') }]);
    expect(moved.pods).to.deep.equal(first.pods);
    expect(moved.raw).to.deep.equal({ ...first.raw, namespaces: [ns('x'), ns('app')] });
    const dup = buildSnapshot([
      { obj: pod, source: 'a.yaml#2' },
      { obj: pod, source: 'b.yaml#1' },
    ]);
    const twice = dup.problems.filter((p) => p.message.includes('more than once'));
    expect(twice.map((p) => [p.source, p.message])).to.deep.equal([
      ['b.yaml#1', 'is defined more than once (first in a.yaml#2)'],
    ]);
  });

  it('sorts names in en-US collation order (plain Kubernetes names without the collator)', () => {
    const collator = new Intl.Collator('en-US');
    const name = fc.oneof(
      fc.stringMatching(/^[a-z0-9.-]{0,6}$/),
      fc.string({ maxLength: 6 }),
      fc.constantFrom('a', 'a-b', 'ab', 'a.b', 'B', 'Ä', 'a0', 'a-'),
    );
    fc.assert(
      fc.property(name, name, (a, b) => {
        expect(Math.sign(compareNames(a, b))).to.equal(Math.sign(collator.compare(a, b)));
      }),
      { numRuns: 20000, seed: 1123 },
    );
  });

  it('sorts pods by namespace and name, also when a rebuild replaces or renames some of them', () => {
    const named = (namespace: string, name: string, v: string) => ({
      ...pod,
      metadata: { ...pod.metadata, namespace, name, labels: { v } },
    });
    const order = (objs: { metadata: { namespace: string; name: string } }[]) =>
      [...objs]
        .sort(
          (a, b) =>
            compareNames(a.metadata.namespace, b.metadata.namespace) ||
            compareNames(a.metadata.name, b.metadata.name),
        )
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(fc.constantFrom('a', 'b-1', 'b', 'Zed'), fc.stringMatching(/^[a-z][a-z0-9-]{0,4}$/)),
          {
            minLength: 1,
            maxLength: 30,
            selector: ([ns, name]) => `${ns}/${name}`,
          },
        ),
        fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 5 }),
        (names, edits) => {
          let objs = names.map(([ns, name]) => named(ns, name, '0'));
          // One builder, as the agent's source: it keeps the last sort for the next build.
          const builder = new SnapshotBuilder();
          builder.build(objs.map((obj) => ({ obj })));
          for (const [i, rename] of edits) {
            const at = i % objs.length;
            const o = objs[at]!;
            const taken = new Set(objs.map((x) => `${x.metadata.namespace}/${x.metadata.name}`));
            const newName =
              rename && !taken.has(`${o.metadata.namespace}/${o.metadata.name}x`)
                ? `${o.metadata.name}x`
                : o.metadata.name;
            objs = objs.map((x, j) => (j === at ? named(x.metadata.namespace, newName, `${i}`) : x));
            const snap = builder.build(objs.map((obj) => ({ obj })));
            expect(snap.pods.map((p) => `${p.namespace}/${p.name}`)).to.deep.equal(order(objs));
            expect(snap.pods.map((p) => p.labels?.v)).to.deep.equal(
              order(objs).map(
                (k) =>
                  objs.find((x) => `${x.metadata.namespace}/${x.metadata.name}` === k)!.metadata.labels.v,
              ),
            );
          }
        },
      ),
      { numRuns: 300, seed: 1123 },
    );
  });

  it('patches the last snapshot for a few replaced pods to exactly what a full build gives', () => {
    // Positions 0-1 namespaces, 2-9 pods. Edits replace one object; only replacing clean pods
    // by clean pods of the same name may patch, every other edit must rebuild.
    const STATUS = 'k8s.v1.cni.cncf.io/network-status';
    // Each pod pN has its own address 10.56.1.(10+N) unless an edit gives it another.
    const address = (n: number) => status.replace('10.56.1.5', `10.56.1.${10 + n}`);
    const named = (name: string, labels: Record<string, string>, extra: object = {}, ip?: number) => ({
      ...pod,
      metadata: {
        ...pod.metadata,
        name,
        labels,
        annotations: { ...pod.metadata.annotations, [STATUS]: address(ip ?? Number(name.slice(1))) },
      },
      ...extra,
    });
    const start = (): SourcedObject[] => [
      { obj: ns('app', { team: 'a' }) },
      { obj: ns('x') },
      ...Array.from({ length: 8 }, (_, i) => ({ obj: named(`p${i}`, { v: '0' }), source: `pods.yaml#${i}` })),
    ];
    const edit = fc.oneof(
      fc.record({ op: fc.constant('label' as const), at: fc.nat(7), v: fc.nat(3) }),
      fc.record({ op: fc.constant('invalid' as const), at: fc.nat(7), v: fc.nat(2) }),
      fc.record({ op: fc.constant('rename' as const), at: fc.nat(7), v: fc.nat(7) }),
      fc.record({ op: fc.constant('source' as const), at: fc.nat(7), v: fc.nat(1) }),
      fc.record({ op: fc.constant('namespace' as const), at: fc.nat(1), v: fc.nat(2) }),
      // A new address: another pod's (shared: released from both) or a free one.
      fc.record({ op: fc.constant('address' as const), at: fc.nat(7), v: fc.nat(9) }),
    );
    let patches = 0;
    let rebuilds = 0;
    fc.assert(
      fc.property(fc.array(fc.array(edit, { minLength: 1, maxLength: 3 }), { maxLength: 12 }), (steps) => {
        const builder = new SnapshotBuilder();
        let objs = start();
        builder.build(objs);
        for (const step of steps) {
          objs = [...objs];
          for (const e of step) {
            const at = e.op === 'namespace' ? e.at : e.at + 2;
            const o = objs[at]!;
            const m = (o.obj as { metadata: { name: string; labels: Record<string, string> } }).metadata;
            if (e.op === 'label') objs[at] = { ...o, obj: named(m.name, { v: `${e.v}` }) };
            else if (e.op === 'invalid')
              // A pod the reader rejects, one only the schema rejects, or a valid one again.
              objs[at] = {
                ...o,
                obj:
                  [
                    named(m.name, m.labels, {
                      metadata: { ...pod.metadata, name: m.name, annotations: { [STATUS]: 'not json' } },
                    }),
                    named(m.name, m.labels, { status: { phase: 7 } }),
                  ][e.v] ?? named(m.name, { v: 'x' }),
              };
            else if (e.op === 'rename') objs[at] = { ...o, obj: named(`p${e.v}`, m.labels) };
            else if (e.op === 'source') objs[at] = { ...o, source: `other.yaml#${e.v}` };
            else if (e.op === 'address') objs[at] = { ...o, obj: named(m.name, m.labels, {}, e.v) };
            else objs[at] = { obj: ns(m.name, { team: `${e.v}` }) };
          }
          const snap = builder.build(objs);
          if (builder.lastHow === 'patched') patches++;
          else rebuilds++;
          const full = new SnapshotBuilder().build(structuredClone(objs));
          expect(snap).to.deep.equal(full);
        }
      }),
      { numRuns: 400, seed: 2411 },
    );
    // Both paths were taken (the property above says nothing if one never runs).
    expect(patches).to.be.greaterThan(100);
    expect(rebuilds).to.be.greaterThan(100);
  });

  it('never throws on garbage', () => {
    const s = buildSnapshot([
      { obj: null },
      { obj: 42 },
      { obj: { kind: 'Pod' } },
      { obj: { kind: 'Pod', metadata: { name: 'p' }, spec: 7 } },
    ]);
    expect(s.pods).to.have.length(1);
    expect(s.problems.filter((p) => p.severity === 'error').length).to.be.greaterThan(3);
  });
});
