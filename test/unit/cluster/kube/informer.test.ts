// The informer against the list/watch test server: sync only after a complete LIST, watches that
// resume after closes, 410s and stalls, caches kept through failures, slim records.

import { expect } from 'chai';
import { loadClientConfig } from '../../../../src/cluster/kube/client-config.js';
import { DEFAULT_TIMING, Informer, type InformerTiming } from '../../../../src/cluster/kube/informer.js';
import { RESOURCES } from '../../../../src/cluster/kube-source.js';
import { KubeTestServer } from '../../../support/kube-test-server.js';
import { pod, smallCluster } from '../../../support/cluster-objects.js';
import { sleep, waitFor } from '../../../support/wait-for.js';

const FAST: InformerTiming = {
  ...DEFAULT_TIMING,
  stallMs: 400,
  listRetryMs: 20,
  listRetryCapMs: 100,
  pageSize: 2,
  listTimeoutMs: 2000,
};

describe('Informer against the list/watch test server', () => {
  let server: KubeTestServer;
  let informer: Informer | undefined;
  let changes: string[];
  const counts = { relist: 0, restarts: [] as string[] };

  const start = (kind: string, timing: Partial<InformerTiming> = {}) => {
    const kc = loadClientConfig({ master: server.url });
    const resource = RESOURCES.find((r) => r.kind === kind)!;
    informer = new Informer(
      kc,
      resource,
      {
        change: (w) => changes.push(w),
        relist: () => counts.relist++,
        watchRestart: (_k, why) => counts.restarts.push(why),
      },
      { ...FAST, ...timing },
    );
    informer.start();
    return informer;
  };
  const labelsOf = (i: Informer, name: string) =>
    (i.get('app', name)?.metadata as { labels?: Record<string, string> } | undefined)?.labels;

  beforeEach(async () => {
    server = await new KubeTestServer().start();
    server.apply(...smallCluster());
    changes = [];
    counts.relist = 0;
    counts.restarts = [];
  });
  afterEach(async () => {
    informer?.stop();
    informer = undefined;
    await server.stop();
  });

  it('syncs after a paged LIST, then sees ADDED, MODIFIED and DELETED from the watch', async () => {
    server.apply(pod('third', { role: 'x' }, '192.168.10.3/24', 'eth0_3', 3));
    const i = start('Pod');
    await waitFor('sync', () => i.synced);
    expect(i.size).to.equal(3);
    expect(server.requestsOf('Pod', 'list').length, 'pages of 2').to.equal(2);
    await waitFor('watch', () => server.openWatches('Pod') === 1);
    const q = server.requestsOf('Pod', 'watch')[0]!.query;
    expect(q.allowWatchBookmarks).to.equal('true');
    expect(Number(q.timeoutSeconds)).to.be.within(300, 599);
    server.setLabels('Pod', 'app', 'client', { role: 'other' });
    await waitFor('modified', () => labelsOf(i, 'client')?.role === 'other');
    server.remove('Pod', 'app', 'third');
    await waitFor('deleted', () => i.size === 2);
    server.apply(pod('fourth', {}, '192.168.10.4/24', 'eth0_4', 4));
    await waitFor('added', () => i.size === 3);
    expect(changes).to.include('MODIFIED Pod app/client');
    expect(changes).to.include('DELETED Pod app/third');
  });

  it('keeps slim records: no managedFields, status or unrelated annotations', async () => {
    const i = start('Pod');
    await waitFor('sync', () => i.synced);
    const rec = i.get('app', 'server')!;
    expect(rec.kind).to.equal('Pod');
    expect(rec.apiVersion).to.equal('v1');
    const meta = rec.metadata as Record<string, unknown>;
    expect(meta).to.not.have.property('managedFields');
    expect(Object.keys(meta.annotations as object)).to.have.members([
      'k8s.v1.cni.cncf.io/networks',
      'k8s.v1.cni.cncf.io/network-status',
    ]);
    expect(rec.status).to.deep.equal({ phase: 'Running' });
    expect(rec.spec).to.deep.equal({
      nodeName: 'node-a',
      containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 80 }] }],
    });
  });

  it('never syncs while the LIST is forbidden, and syncs once it is allowed', async () => {
    server.forbid('Pod', 'list');
    const i = start('Pod');
    await sleep(200);
    expect(i.synced).to.equal(false);
    expect(i.lastListError).to.match(/403/);
    expect(server.requestsOf('Pod', 'list').length, 'retried').to.be.greaterThan(1);
    server.allow('Pod');
    await waitFor('sync', () => i.synced);
    expect(i.size).to.equal(2);
  });

  it('does not sync until a slow LIST answers', async () => {
    server.slowList('Pod', 300);
    const i = start('Pod');
    await sleep(150);
    expect(i.synced).to.equal(false);
    await waitFor('sync', () => i.synced, 2000);
  });

  it('keeps its cache when LIST and WATCH become forbidden at runtime', async () => {
    const i = start('Pod');
    await waitFor('watch', () => i.synced && server.openWatches('Pod') === 1);
    server.forbid('Pod');
    server.closeWatches('Pod');
    await waitFor('a failed relist', () => server.requestsOf('Pod', 'list').length >= 3, 3000);
    expect(i.synced).to.equal(true);
    expect(i.size).to.equal(2);
    server.allow('Pod');
    server.setLabels('Pod', 'app', 'server', { role: 'changed' });
    await waitFor('recovered', () => labelsOf(i, 'server')?.role === 'changed', 3000);
  });

  for (const form of ['http', 'event', 'in-stream'] as const) {
    it(`re-lists on 410 Gone (${form})`, async () => {
      const i = start('Pod');
      await waitFor('watch', () => i.synced && server.openWatches('Pod') === 1);
      expect(counts.relist).to.equal(1);
      // The history before now is gone: only a re-list sees this change.
      server.setLabels('Pod', 'app', 'server', { role: 'relisted' });
      if (form === 'in-stream') server.goneInStream('Pod');
      else {
        server.goneOnNextWatch('Pod', form);
        server.closeWatches('Pod');
      }
      await waitFor('relist', () => counts.relist === 2, 3000);
      expect(labelsOf(i, 'server')?.role).to.equal('relisted');
    });
  }

  it('watches again from where it was after a closed stream', async () => {
    const i = start('Pod');
    await waitFor('watch', () => i.synced && server.openWatches('Pod') === 1);
    await sleep(1100); // a stream that lived a while: restarted at once
    server.closeWatches('Pod');
    server.setLabels('Pod', 'app', 'client', { role: 'after-close' });
    await waitFor('change after close', () => labelsOf(i, 'client')?.role === 'after-close', 3000);
    expect(counts.relist, 'no re-list for a closed stream').to.equal(1);
    expect(counts.restarts).to.include('closed');
  });

  it('restarts a stalled watch, so a change made during the stall arrives within the bound', async () => {
    const i = start('Pod', { stallMs: 400 });
    await waitFor('watch', () => i.synced && server.openWatches('Pod') === 1);
    server.stallWatches('Pod');
    const t0 = Date.now();
    server.setLabels('Pod', 'app', 'client', { role: 'during-stall' });
    await waitFor('change made during the stall', () => labelsOf(i, 'client')?.role === 'during-stall', 2000);
    expect(Date.now() - t0).to.be.below(400 + 300);
    expect(counts.restarts).to.include('stalled');
  });

  it('bookmarks keep a quiet watch from being restarted', async () => {
    const i = start('Pod', { stallMs: 300 });
    await waitFor('watch', () => i.synced && server.openWatches('Pod') === 1);
    for (let k = 0; k < 5; k++) {
      await sleep(150);
      server.bookmark('Pod');
    }
    expect(counts.restarts).to.deep.equal([]);
  });

  it('survives the server going down and coming back, with changes made meanwhile', async () => {
    const i = start('Pod');
    await waitFor('watch', () => i.synced && server.openWatches('Pod') === 1);
    await server.down();
    server.setLabels('Pod', 'app', 'server', { role: 'while-down' });
    await sleep(200);
    expect(i.size, 'cache kept while down').to.equal(2);
    await server.up();
    await waitFor('change made while down', () => labelsOf(i, 'server')?.role === 'while-down', 3000);
  });

  it('keeps unchanged objects as the same values through a re-list', async () => {
    const i = start('Pod');
    await waitFor('watch', () => i.synced && server.openWatches('Pod') === 1);
    const before = i.get('app', 'client');
    server.setLabels('Pod', 'app', 'server', { role: 'x' });
    server.goneInStream('Pod');
    await waitFor('relist', () => counts.relist === 2, 3000);
    expect(i.get('app', 'client')).to.equal(before);
    expect(labelsOf(i, 'server')?.role).to.equal('x');
  });
});
