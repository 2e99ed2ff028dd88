// The agent in cluster mode on a real kernel: the list/watch test server runs in this process (on
// the guest's loopback); per node, the agent's informers talk to it over HTTP and its reconcile
// programs that node's namespace. Real packets check the verdicts before and after a label change
// made on the server, and a restarted agent must write nothing.

import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { KubeTestServer, type Obj } from '../support/kube-test-server.js';
import { waitFor } from '../support/wait-for.js';
import { startKubeSource, type KubeSource } from '../../src/cluster/kube-source.js';
import { reconcileOnce, type AgentOptions } from '../../src/agent/run-agent.js';
import { NodePipelineBuilder } from '../../src/agent/node-pipeline-builder.js';
import { ExecaTcRunner } from '../../src/tc/apply/tc-runner.js';
import { kernelReader, Reconciler } from '../../src/tc/apply/reconcile.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../src/tc/compile/options.js';
import { buildTopology, type Topology } from './lab/topology.js';
import { loadModel } from './lab/observe.js';
import { runProbes, startServers } from './lab/probe.js';
import { assertLab } from './lab/shell.js';
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

/**
 * One node's agent in this process: the cluster source (informers against the test server) and
 * the reconcile of `run`, in the node's namespace. A process start per agent costs over a minute
 * under TCG; the CLI itself is tested against the same server on the host (test/unit/agent).
 */
class ClusterAgent {
  readonly source: KubeSource;
  private readonly reconciler: Reconciler;
  private readonly builder: NodePipelineBuilder;
  private readonly seen = new Set<string>();
  changes = 0;

  constructor(
    readonly node: string,
    netns: string,
    master: string,
  ) {
    this.source = startKubeSource({ nodeName: node, master });
    this.source.onChange(() => this.changes++);
    const runner = new ExecaTcRunner('tc', netns);
    this.reconciler = new Reconciler(runner, kernelReader(runner), DEFAULT_COMPILE_OPTIONS.ctZone);
    this.builder = new NodePipelineBuilder(node, ['accelerated-bridge'], DEFAULT_COMPILE_OPTIONS);
  }

  async reconcile(): Promise<number> {
    const o: AgentOptions = {
      nodeName: this.node,
      once: false,
      tcBinary: 'tc',
      networkPlugins: ['accelerated-bridge'],
      compile: DEFAULT_COMPILE_OPTIONS,
    };
    const r = await reconcileOnce(this.source, this.reconciler, this.builder, o, this.seen);
    if (!r.ok) throw new Error(`reconcile on ${this.node} failed for ${r.failed.join(', ')}`);
    return r.writes;
  }
}

describe('kernel: the agent in cluster mode against the list/watch test server', function () {
  this.timeout(600_000);
  let server: KubeTestServer;
  let topo: Topology | undefined;
  const agents: ClusterAgent[] = [];
  const dirs: string[] = [];

  after(async () => {
    for (const a of agents) a.source.stop();
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
    const start = () => [...topo!.nodeNs].map(([node, ns]) => new ClusterAgent(node, ns, server.url));

    const first = start();
    agents.push(...first);
    for (const a of first) await waitFor('the caches synced', () => a.source.ready(), 120_000, 50);
    let writes = 0;
    for (const a of first) writes += await a.reconcile();
    expect(writes, 'the first reconciles program filters').to.be.greaterThan(0);

    const probe = (from: string) => ({
      id: from,
      srcNs: topo!.podNs.get(`x/${from}`)!,
      dstIp: pod('x', 'b').ipv4,
      protocol: 'TCP' as const,
      port: 80,
    });
    const verdicts = async () => Object.fromEntries(await runProbes([probe('a'), probe('c')]));
    expect(await verdicts(), 'before the label change').to.deep.equal({ a: true, c: false });

    // x/c is labelled like x/a on the API server: the watches bring it, the agents reprogram.
    const seen = first.map((a) => a.changes);
    server.setLabels('Pod', 'x', 'c', { pod: 'a' });
    for (const [i, a] of first.entries())
      await waitFor('the watch event', () => a.changes > seen[i]!, 60_000, 20);
    writes = 0;
    for (const a of first) writes += await a.reconcile();
    expect(writes, 'the change was written').to.be.greaterThan(0);
    expect(await verdicts(), 'after the label change').to.deep.equal({ a: true, c: true });
    for (const a of first) a.source.stop();

    // A restarted agent (new caches, new reconciler) over its own rules writes nothing.
    const second = start();
    agents.push(...second);
    for (const a of second) await waitFor('the caches synced again', () => a.source.ready(), 120_000, 50);
    const again = [];
    for (const a of second) again.push(await a.reconcile());
    expect(again, 'a restarted agent writes nothing').to.deep.equal(second.map(() => 0));
    expect(await verdicts(), 'after the restart').to.deep.equal({ a: true, c: true });
  });
});
