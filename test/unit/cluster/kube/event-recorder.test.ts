// Events: events.k8s.io/v1 with a full `regarding` reference, posted once per problem and counted
// in `series` when an agent restart reports the same problem again.

import { expect } from 'chai';
import { loadClientConfig } from '../../../../src/cluster/kube/client-config.js';
import { EventRecorder } from '../../../../src/cluster/kube/event-recorder.js';
import type { Problem } from '../../../../src/cluster/problem.js';
import { KubeTestServer, type Obj } from '../../../support/kube-test-server.js';
import { waitFor } from '../../../support/wait-for.js';

const PROBLEM: Problem = {
  severity: 'error',
  object: 'MultiNetworkPolicy app/bad',
  path: 'spec.ingress[0].ports[0].port',
  message: 'port 70000 is out of range',
  effect: 'this port entry allows nothing',
};

describe('EventRecorder against the test server', () => {
  let server: KubeTestServer;
  beforeEach(async () => {
    server = await new KubeTestServer().start();
  });
  afterEach(() => server.stop());

  const recorder = () =>
    new EventRecorder(loadClientConfig({ master: server.url }), 'node-a', () => ({
      apiVersion: 'k8s.cni.cncf.io/v1beta1',
      kind: 'MultiNetworkPolicy',
      name: 'bad',
      namespace: 'app',
      uid: 'uid-1',
    }));

  it('posts one Event whose regarding names the object with its uid', async () => {
    recorder().report(PROBLEM);
    await waitFor('the post', () => server.events.size === 1);
    const e = [...server.events.values()][0]!;
    expect(e.regarding).to.deep.equal({
      apiVersion: 'k8s.cni.cncf.io/v1beta1',
      kind: 'MultiNetworkPolicy',
      name: 'bad',
      namespace: 'app',
      uid: 'uid-1',
    });
    expect(e.type).to.equal('Warning');
    expect(e.reportingController).to.equal('multi-networkpolicy-tc');
    expect(e.note).to.include('port 70000 is out of range');
    expect(String(e.eventTime)).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('counts the same problem reported after a restart instead of posting another Event', async () => {
    recorder().report(PROBLEM);
    await waitFor('the first post', () => server.events.size === 1);
    recorder().report(PROBLEM); // a new agent process: nothing remembered
    await waitFor('the patch', () => server.eventWrites.some((w) => w.method === 'PATCH'));
    recorder().report(PROBLEM);
    await waitFor(
      'the second patch',
      () => server.eventWrites.filter((w) => w.method === 'PATCH').length === 2,
    );
    expect(server.events.size).to.equal(1);
    const e = [...server.events.values()][0]!;
    expect((e.series as Obj).count).to.equal(3);
  });

  it('posts different problems as different Events', async () => {
    const r = recorder();
    r.report(PROBLEM);
    r.report({ ...PROBLEM, message: 'another' });
    await waitFor('two posts', () => server.events.size === 2);
  });
});
