// The agent in cluster mode on a real kernel: the list/watch test server runs in this process (on
// the guest's loopback), one real agent process per node talks to it with `--master http://...`
// and programs that node's namespace through `tc`/`ip` wrappers (`ip netns exec <node> ...`).
// Real packets check the verdicts before and after a label change made on the server, and a
// restarted agent must write nothing.

import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeTestServer, type Obj } from '../support/kube-test-server.js';
import { AgentProcess } from '../support/agent-process.js';
import { waitFor } from '../support/wait-for.js';
import { buildTopology, type Topology } from './lab/topology.js';
import { loadModel } from './lab/observe.js';
import { runProbes, startServers } from './lab/probe.js';
import { assertLab, sh } from './lab/shell.js';
import { policy, worldObjects, worldPods, writeManifests } from './lab/world.js';

const pods = worldPods();
const pod = (ns: string, name: string) => pods.find((p) => p.ns === ns && p.name === name)!;

/** x/b takes TCP 80 only from pods labelled pod=a. */
const onlyA = policy('x', 'b-from-a', {
  podSelector: { matchLabels: { pod: 'b' } },
  policyTypes: ['Ingress'],
  ingress: [
    { from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: [{ protocol: 'TCP', port: 80 }] },
  ],
});

/** `tc` and `ip` that run in a node's namespace, for an agent process left in the root one. */
function nodeTools(nodeNs: string, realIp: string): string {
  const dir = mkdtempSync(join(tmpdir(), `agent-${nodeNs}-`));
  writeFileSync(join(dir, 'tc'), `#!/bin/bash\nexec ${realIp} netns exec ${nodeNs} tc "$@"\n`);
  writeFileSync(join(dir, 'ip'), `#!/bin/bash\nexec ${realIp} netns exec ${nodeNs} ${realIp} "$@"\n`);
  chmodSync(join(dir, 'tc'), 0o755);
  chmodSync(join(dir, 'ip'), 0o755);
  return dir;
}

/** tc lines of each "reconciled node" line an agent logged, in order. */
function reconciles(a: AgentProcess): number[] {
  return a
    .lines()
    .map((l) => /^reconciled node \S+: \d+ device\(s\), (\d+) tc line\(s\)/.exec(l.msg))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}

describe('kernel: the agent in cluster mode against the list/watch test server', function () {
  this.timeout(600_000);
  let server: KubeTestServer;
  let topo: Topology | undefined;
  const agents: AgentProcess[] = [];
  const dirs: string[] = [];

  after(async () => {
    for (const a of agents) if (a.child.exitCode === null) a.kill('SIGKILL');
    await topo?.teardown();
    await server?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('programs real filters, follows a label change with real packets, and a restart writes nothing', async () => {
    await assertLab();
    const objects = [...worldObjects(), onlyA] as Obj[];
    const manifests = await writeManifests(objects);
    dirs.push(manifests);
    const { snapshot, model } = await loadModel(manifests);
    topo = await buildTopology(snapshot, model);
    await startServers([...topo.podNs.values()], ['TCP'], [80]);
    server = await new KubeTestServer().start();
    server.apply(...objects);
    const realIp = (await sh('command -v ip')).trim();
    const tools = new Map([...topo.nodeNs].map(([node, ns]) => [node, nodeTools(ns, realIp)]));
    dirs.push(...tools.values());
    const start = () =>
      [...tools].map(([node, dir]) => {
        const a = new AgentProcess(
          [
            '--master',
            server.url,
            '--hostname-override',
            node,
            '--tc',
            join(dir, 'tc'),
            '--metrics-bind-address',
            '0',
            '-v',
            '2',
          ],
          { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
        );
        agents.push(a);
        return a;
      });

    const first = start();
    for (const a of first) await waitFor('a first reconcile', () => reconciles(a).length > 0, 300_000, 100);
    expect(
      first.map((a) => reconciles(a)[0]!).reduce((x, y) => x + y, 0),
      'the first reconciles program filters',
    ).to.be.greaterThan(0);

    const probe = (from: string) => ({
      id: from,
      srcNs: topo!.podNs.get(`x/${from}`)!,
      dstIp: pod('x', 'b').ipv4,
      protocol: 'TCP' as const,
      port: 80,
    });
    const verdicts = async () => Object.fromEntries(await runProbes([probe('a'), probe('c')]));
    expect(await verdicts(), 'before the label change').to.deep.equal({ a: true, c: false });

    // x/c is labelled like x/a on the API server: the watch brings it, the agents reprogram.
    const counts = first.map((a) => reconciles(a).length);
    server.setLabels('Pod', 'x', 'c', { pod: 'a' });
    for (const [i, a] of first.entries())
      await waitFor('a reconcile after the change', () => reconciles(a).length > counts[i]!, 120_000, 100);
    expect(
      first.map((a) => reconciles(a).at(-1)!).reduce((x, y) => x + y, 0),
      'the change was written',
    ).to.be.greaterThan(0);
    expect(await verdicts(), 'after the label change').to.deep.equal({ a: true, c: true });

    // SIGTERM: exit 0, rules left in place.
    for (const a of first) a.kill('SIGTERM');
    for (const a of first) expect((await a.exited).code, a.stderr.slice(-2000)).to.equal(0);
    expect(await verdicts(), 'rules stay after the agents stop').to.deep.equal({ a: true, c: true });

    const second = start();
    for (const a of second)
      await waitFor('the restarted reconcile', () => reconciles(a).length > 0, 300_000, 100);
    expect(
      second.map((a) => reconciles(a)[0]!),
      'a restarted agent writes nothing',
    ).to.deep.equal(second.map(() => 0));
    for (const a of second) a.kill('SIGTERM');
    for (const a of second) expect((await a.exited).code).to.equal(0);
  });
});
