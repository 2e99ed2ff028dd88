// The real CLI in cluster mode against the list/watch test server, with stand-in `tc` and `ip`
// that record every write. Each test is one finding of issue 13: an agent started without complete
// state must write nothing (not even the cleanup of what an earlier run programmed); `--master
// http://` alone works; SIGTERM ends the process at once, also in the middle of a large compile.

import { expect } from 'chai';
import { KubeTestServer, type Obj } from '../../support/kube-test-server.js';
import { NODE, smallCluster } from '../../support/cluster-objects.js';
import { StandInTools } from '../../support/stand-in-tools.js';
import { AgentProcess, freePort } from '../../support/agent-process.js';
import { sleep, waitFor } from '../../support/wait-for.js';
import { entryJson } from '../tc/tc-json.js';
import { absoluteChain } from '../../../src/tc/layout.js';
import { COMPILE_TIME_CLUSTER, synthesize } from '../../../bench/synthetic.js';

/** A representor programmed by an earlier run whose pod is gone: a full state cleans it up. */
const OLD_DEVICE = 'eth0_9';
const LINKS = ['lo', 'p0', 'eth0_1', 'eth0_2', OLD_DEVICE];

/** GET, retried while the agent's server is not listening yet (a loaded machine starts slowly). */
async function get(url: string): Promise<{ status: number; body: string }> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url);
      return { status: r.status, body: await r.text() };
    } catch (e) {
      if (i > 50) throw e;
      await sleep(100);
    }
  }
}

describe('the agent in cluster mode (real CLI, list/watch test server, stand-in tc)', function () {
  this.timeout(30_000);
  let server: KubeTestServer;
  let tools: StandInTools;
  let agent: AgentProcess | undefined;
  let metricsPort: number;

  const run = (extra: string[] = [], master = server.url) => {
    agent = new AgentProcess(
      [
        '--master',
        master,
        '--hostname-override',
        NODE,
        '--tc',
        tools.tc,
        '--device-source',
        'annotations',
        '--metrics-bind-address',
        `127.0.0.1:${metricsPort}`,
        '-v',
        '2',
        ...extra,
      ],
      tools.env(),
    );
    return agent;
  };
  const readyz = () => get(`http://127.0.0.1:${metricsPort}/readyz`);
  const healthz = () => get(`http://127.0.0.1:${metricsPort}/healthz`);

  beforeEach(async () => {
    server = await new KubeTestServer().start();
    server.apply(...smallCluster());
    tools = new StandInTools(LINKS);
    tools.setProgrammed(OLD_DEVICE, entryJson(absoluteChain(0, 0)));
    metricsPort = await freePort();
  });
  afterEach(async () => {
    if (agent && agent.child.exitCode === null) {
      agent.kill('SIGKILL');
      await agent.exited;
    }
    agent = undefined;
    await server.stop();
    tools.remove();
  });

  it('--master http://HOST:PORT alone lists, watches and programs the node; a label change is written', async () => {
    const a = run();
    await waitFor(
      'first writes',
      () => tools.writes().some((l) => l.includes(`dev ${OLD_DEVICE}`)),
      15_000,
      50,
    );
    const first = tools.writes();
    expect(first.some((l) => l.includes('dev eth0_1'))).to.equal(true);
    expect(
      first.some((l) => l.includes(`dev ${OLD_DEVICE}`)),
      'the stale device is cleaned up',
    ).to.equal(true);
    await waitFor('ready', () => a.stderr.includes('reconciled node'), 5000, 50);
    expect((await readyz()).status).to.equal(200);
    expect((await healthz()).status).to.equal(200);
    const n = first.length;
    server.setLabels('Pod', 'app', 'client', { role: 'stranger' });
    await waitFor('writes after the label change', () => tools.writes().length > n, 5000, 20);
    const metrics = (await get(`http://127.0.0.1:${metricsPort}/metrics`)).body;
    for (const name of [
      'multi_networkpolicy_tc_reconcile_duration_seconds_count',
      'multi_networkpolicy_tc_event_to_programmed_seconds_count',
      'multi_networkpolicy_tc_tc_lines_written_total',
      'multi_networkpolicy_tc_filters{device="eth0_1"}',
      'multi_networkpolicy_tc_relists_total{kind="Pod"}',
      'multi_networkpolicy_tc_cache_objects{kind="Pod"} 2',
    ])
      expect(metrics, name).to.include(name);
    const logged = () =>
      a
        .lines()
        .some(
          (l) =>
            l.msg.startsWith('reconciled node') &&
            JSON.stringify(l.changes).includes('MODIFIED Pod app/client'),
        );
    await waitFor('the reconcile log names the changed pod', logged, 5000, 20);
  });

  for (const kind of ['Pod', 'MultiNetworkPolicy', 'Node'] as const) {
    it(`writes nothing while the ${kind} LIST is forbidden, and programs once it is allowed`, async () => {
      server.forbid(kind);
      const a = run();
      await waitFor('a refused LIST', () => server.requestsOf(kind, 'list').length >= 2, 20_000, 50);
      await sleep(1500);
      expect(tools.writes(), 'no tc write before a full sync').to.deep.equal([]);
      const r = await readyz();
      expect(r.status).to.equal(503);
      expect(r.body).to.match(/not synced/);
      const errors = a.lines().filter((l) => l.level === 'error' && l.msg.includes(`LIST of ${kind} failed`));
      expect(errors.length, 'logged once per state change').to.equal(1);
      expect(errors[0]!.msg)
        .to.match(/403/)
        .and.not.match(/content-type|x-kubernetes/i);
      server.allow(kind);
      await waitFor('writes after the sync', () => tools.writes().length > 0, 15_000, 50);
    });
  }

  it('writes nothing while the API server is unreachable, and programs once it is back', async () => {
    await server.down();
    run();
    await sleep(2500);
    expect(tools.writes()).to.deep.equal([]);
    expect((await readyz()).status).to.equal(503);
    await server.up();
    await waitFor('writes once the server is up', () => tools.writes().length > 0, 20_000, 50);
  });

  it('exits 0 within 2 s of SIGTERM, and does not come back', async () => {
    const a = run();
    await waitFor('first writes', () => tools.writes().length > 0, 15_000, 50);
    const watchesBefore = server.requests.length;
    const t0 = Date.now();
    a.kill('SIGTERM');
    const { code, signal, at } = await a.exited;
    expect({ code, signal }, a.stderr).to.deep.equal({ code: 0, signal: null });
    expect(at - t0).to.be.below(2000);
    await sleep(300);
    expect(server.requests.length - watchesBefore, 'no request after the stop').to.be.at.most(0);
    expect(a.stderr).to.include('rules stay in place');
  });

  it('exits 0 on a SIGTERM that arrives while it starts (LISTs sent, the loop not loaded yet), writing nothing', async () => {
    const a = run();
    await waitFor('the LISTs sent', () => a.stderr.includes('informers started'), 15_000, 1);
    const loopLoaded = a.stderr.includes('agent started');
    a.kill('SIGTERM');
    const { code, signal } = await a.exited;
    expect({ code, signal }, a.stderr).to.deep.equal({ code: 0, signal: null });
    expect(loopLoaded, 'the signal came before the loop was loaded').to.equal(false);
    expect(tools.writes()).to.deep.equal([]);
    expect(a.stderr).to.include('rules stay in place');
  });

  it('a bad kubeconfig is one line and exit 2', async () => {
    const a = new AgentProcess(['--kubeconfig', `${tools.dir}/missing.yaml`, '--tc', tools.tc], tools.env());
    const { code } = await a.exited;
    expect(code).to.equal(2);
    const lines = a.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include('cannot read kubeconfig');
  });

  describe('on a 5,000-pod cluster', function () {
    this.timeout(120_000);
    let big: Obj[];
    before(() => {
      big = synthesize(COMPILE_TIME_CLUSTER).objects;
    });

    it('exits 0 within 2 s of a SIGTERM that arrives mid-compile, with nothing written', async () => {
      await server.stop();
      server = await new KubeTestServer().start();
      server.apply(...big);
      const reps = Array.from({ length: 120 }, (_, i) => `eth${i}`);
      tools.setLinks(['lo', 'p0', ...reps]);
      const a = run(['--hostname-override', 'node-000']);
      await waitFor('sync', () => a.stderr.includes('informers synced'), 60_000, 5);
      const t0 = Date.now();
      a.kill('SIGTERM');
      const { code, at } = await a.exited;
      expect(code).to.equal(0);
      expect(at - t0).to.be.below(2000);
      expect(a.stderr).to.not.include('reconciled node');
      expect(tools.writes()).to.deep.equal([]);
    });
  });
});
