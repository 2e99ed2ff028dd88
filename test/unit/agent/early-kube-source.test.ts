// The cluster source the CLI starts before loading the agent loop: it lists at once, and the
// counters it reports before the agent's metrics exist reach them when they are bound.

import { expect } from 'chai';
import { startEarlyKubeSource } from '../../../src/agent/early-kube-source.js';
import { KubeTestServer } from '../../support/kube-test-server.js';
import { smallCluster } from '../../support/cluster-objects.js';
import { waitFor } from '../../support/wait-for.js';

describe('the cluster source started early', () => {
  it('lists before the hooks are bound; the counters so far reach them on bind, later ones directly', async () => {
    const server = await new KubeTestServer().start();
    server.apply(...smallCluster());
    const early = await startEarlyKubeSource({
      nodeName: 'node-a',
      master: server.url,
      timing: { listRetryMs: 20, listRetryCapMs: 50 },
    });
    try {
      await waitFor('every kind listed', () => early.source.ready());
      const relists: string[] = [];
      const restarts: string[] = [];
      early.bind({
        relist: (k) => relists.push(k),
        watchRestart: (k, why) => restarts.push(`${k} ${why}`),
      });
      expect([...relists].sort()).to.deep.equal([
        'MultiNetworkPolicy',
        'Namespace',
        'NetworkAttachmentDefinition',
        'Node',
        'Pod',
      ]);
      // After the bind: a closed watch restarts and the count goes straight to the hooks.
      await waitFor('the Pod watch open', () => server.openWatches('Pod') > 0);
      server.closeWatches('Pod');
      await waitFor('the Pod watch restarted', () => restarts.includes('Pod closed'));
      expect((await early.source.snapshot()).pods.length).to.equal(2);
    } finally {
      early.source.stop();
      await server.stop();
    }
  });
});
