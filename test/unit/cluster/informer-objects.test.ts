import { expect } from 'chai';
import { SnapshotBuilder } from '../../../src/cluster/build-snapshot.js';
import { InformerObjects } from '../../../src/cluster/informer-objects.js';
import { diffSnapshots } from '../../../src/cluster/snapshot-diff.js';

function pod(name: string, labels: Record<string, string>, resourceVersion: string): object {
  // As a list item: no kind or apiVersion.
  return {
    metadata: { name, namespace: 'app', uid: `uid-${name}`, labels, resourceVersion },
    spec: { nodeName: 'worker-1', containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running' },
  };
}

describe('InformerObjects (the informer caches as the snapshot reads them)', () => {
  it('types list items and gives the same value for an object the cache still holds', () => {
    const reader = new InformerObjects();
    const a = pod('a', { app: 'web' }, '1');
    const b = pod('b', { app: 'db' }, '1');
    const first = reader.read([{ apiVersion: 'v1', kind: 'Pod', objects: [a, b] }]);
    expect(first.map((s) => (s.obj as { kind: string }).kind)).to.deep.equal(['Pod', 'Pod']);
    expect(first[0]!.obj).to.not.equal(a); // a typed copy: the cache's object is not changed
    expect(a).to.not.have.property('kind');
    const b2 = pod('b', { app: 'web' }, '2');
    const second = reader.read([{ apiVersion: 'v1', kind: 'Pod', objects: [a, b2] }]);
    expect(second[0]!.obj).to.equal(first[0]!.obj);
    expect(second[1]!.obj).to.not.equal(first[1]!.obj);
    expect(second[1]!.obj).to.deep.include({ kind: 'Pod', apiVersion: 'v1' });
  });

  it('keeps an object that already has its kind and apiVersion as it is', () => {
    const obj = { ...pod('a', {}, '1'), apiVersion: 'v1', kind: 'Pod' };
    const [read] = new InformerObjects().read([{ apiVersion: 'v1', kind: 'Pod', objects: [obj] }]);
    expect(read!.obj).to.equal(obj);
  });

  it('lets diffSnapshots name only the changed pod when one cached object is replaced', () => {
    const reader = new InformerObjects();
    const pods = Array.from({ length: 50 }, (_, i) => pod(`p${i}`, { app: 'web' }, '1'));
    const builder = new SnapshotBuilder();
    const prev = builder.build(reader.read([{ apiVersion: 'v1', kind: 'Pod', objects: pods }]));
    const changed = [...pods];
    changed[7] = pod('p7', { app: 'db' }, '2');
    const next = builder.build(reader.read([{ apiVersion: 'v1', kind: 'Pod', objects: changed }]));
    // Unchanged pods are the same values, so the diff pairs them by identity.
    const same = next.pods.filter((p) => prev.pods.includes(p)).length;
    expect(same).to.equal(49);
    expect(diffSnapshots(prev, next)).to.deep.equal({ kind: 'pods', changed: ['app/p7'] });
  });
});
