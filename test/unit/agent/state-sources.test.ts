// No state, no kernel change: the cluster source gives no snapshot before every kind has listed,
// and the manifests source treats an unreadable directory as "not ready", never as empty.

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeSource } from '../../../src/cluster/kube-source.js';
import { manifestsSource } from '../../../src/cluster/manifests-source.js';
import { SourceNotReady } from '../../../src/cluster/state-source.js';
import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import { KubeTestServer } from '../../support/kube-test-server.js';
import { smallCluster } from '../../support/cluster-objects.js';
import { waitFor } from '../../support/wait-for.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('state sources before and after a complete state', () => {
  it('the cluster source has no snapshot while one kind cannot be listed, and keeps it after', async () => {
    const server = await new KubeTestServer().start();
    server.apply(...smallCluster());
    server.forbid('NetworkAttachmentDefinition');
    const src = startKubeSource({
      nodeName: 'node-a',
      master: server.url,
      timing: { listRetryMs: 20, listRetryCapMs: 50 },
    });
    try {
      await waitFor('pods listed', () => src.cacheSizes().get('Pod') === 2);
      expect(src.ready()).to.equal(false);
      const e = await rejection(src.snapshot());
      expect(e).to.be.instanceOf(SourceNotReady);
      expect((e as Error).message).to.match(/NetworkAttachmentDefinition \(.*403/);
      server.allow('NetworkAttachmentDefinition');
      await waitFor('ready', () => src.ready());
      const snap = await src.snapshot();
      expect(snap.pods.map((p) => p.name)).to.deep.equal(['client', 'server']);
      // Runtime failure of everything: the last good caches stay.
      await server.down();
      const again = await src.snapshot();
      expect(again.pods.length).to.equal(2);
      expect(again.policies.length).to.equal(1);
    } finally {
      src.stop();
      await server.stop();
    }
  });

  it('the manifests source: unreadable before a good read is not ready, after one keeps the last state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
    let fail = true;
    const load = (d: string) =>
      fail ? Promise.reject(new Error('EACCES: permission denied')) : loadSnapshotFromDir(d);
    const src = manifestsSource(dir, load);
    try {
      expect(await rejection(src.snapshot())).to.be.instanceOf(SourceNotReady);
      expect(src.ready!()).to.equal(false);
      writeFileSync(join(dir, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n');
      fail = false;
      const good = await src.snapshot();
      expect(good.namespaces.has('app')).to.equal(true);
      expect(src.ready!()).to.equal(true);
      fail = true;
      expect(await src.snapshot()).to.equal(good);
      expect(src.ready!()).to.equal(false);
    } finally {
      src.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
