// Faults injected on a real kernel while UDP probes flow: tc killed in the middle of a write batch,
// a representor deleted in the middle of a reconcile (then re-created), the agent killed with
// SIGKILL in the middle of a reconcile (then restarted). No probe may see a verdict that neither
// the old nor the new policy gives, and the next reconcile converges with no leftovers. And
// someone else deleting the agent's rules: `tc monitor` sees it and the next reconcile, which reads
// only that device, restores them.

import { expect } from 'chai';
import { execa, type ResultPromise } from 'execa';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { ManifestsLoader } from '../../src/cluster/load-manifests.js';
import { NodePipelineBuilder } from '../../src/agent/node-pipeline-builder.js';
import { reconcileOnce, type AgentOptions } from '../../src/agent/run-agent.js';
import { kernelReader, Reconciler } from '../../src/tc/apply/reconcile.js';
import { liveChains, ownedChains } from '../../src/tc/apply/device-state.js';
import { command, ExecaTcRunner } from '../../src/tc/apply/tc-runner.js';
import { startRuleMonitor } from '../../src/tc/apply/rule-monitor.js';
import type { RuleDeletion } from '../../src/tc/apply/rule-deletions.js';
import { sleep, waitFor } from '../support/wait-for.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../src/tc/compile/options.js';
import { buildTopology, type Topology } from './lab/topology.js';
import { Agents, loadModel } from './lab/observe.js';
import { startServers } from './lab/probe.js';
import { agentOnce } from './lab/agent.js';
import { assertLab, sh } from './lab/shell.js';
import { policy, worldObjects, worldPods, writeManifests } from './lab/world.js';

const pods = worldPods();
const pod = (ns: string, name: string) => pods.find((p) => p.ns === ns && p.name === name)!;
const base = worldObjects({ ipv6: true });

/** x/a may send UDP to x/b on the given ports; every x pod isolated both ways. */
function aToB(ports: number[]): unknown[] {
  const udp = ports.map((port) => ({ protocol: 'UDP', port }));
  return [
    policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy('x', 'a-egress', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: udp }],
    }),
    policy('x', 'b-ingress', {
      podSelector: { matchLabels: { pod: 'b' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'a' } } }], ports: udp }],
    }),
  ];
}

// UDP 81 from x/a to x/b: allowed by both A and B; from x/c: allowed by neither.
const A = [...base, ...aToB([80, 81])];
const B = [...base, ...aToB([81])];

/** One node's agent with a given tc binary (a stand-in that fails on purpose). */
class NodeAgent {
  readonly reconciler: Reconciler;
  private readonly builder: NodePipelineBuilder;
  /** As the agent's manifests source: unchanged files give the same objects. */
  private readonly loader = new ManifestsLoader();
  constructor(
    readonly node: string,
    netns: string,
    tc: string,
  ) {
    const runner = new ExecaTcRunner(tc, netns, { timeoutMs: 120_000 });
    this.reconciler = new Reconciler(runner, kernelReader(runner), DEFAULT_COMPILE_OPTIONS.ctZone);
    this.builder = new NodePipelineBuilder(node, ['accelerated-bridge'], DEFAULT_COMPILE_OPTIONS);
  }
  reconcile(dir: string, full = true): Promise<{ ok: boolean; failed: string[]; writes: number }> {
    const o: AgentOptions = {
      nodeName: this.node,
      manifests: dir,
      once: true,
      tcBinary: 'tc',
      networkPlugins: ['accelerated-bridge'],
      compile: DEFAULT_COMPILE_OPTIONS,
    };
    const source = {
      snapshot: () => this.loader.snapshot(dir),
      onChange: () => undefined,
      stop: () => undefined,
    };
    return reconcileOnce(source, this.reconciler, this.builder, o, new Set(), { full });
  }
}

interface Probing {
  stop(): Promise<string[]>;
}

/** UDP probes in the background: "a ok|fail" (x/a -> x/b:81), "c ok|fail" (x/c -> x/b:81). */
async function startProbes(topo: Topology, flag: string): Promise<Probing> {
  const a = topo.podNs.get('x/a')!;
  const c = topo.podNs.get('x/c')!;
  const bIp = pod('x', 'b').ipv4;
  await sh(`rm -f ${flag}`);
  const loop: ResultPromise = execa('bash', [
    '-c',
    `while [[ ! -e ${flag} ]]; do
       o=$(echo p | ip netns exec ${a} timeout 6 socat -T3 - UDP4:${bIp}:81 2>/dev/null); [[ $o == *p* ]] && echo "a ok" || echo "a fail"
       o=$(echo p | ip netns exec ${c} timeout 3 socat -T1 - UDP4:${bIp}:81 2>/dev/null); [[ $o == *p* ]] && echo "c ok" || echo "c fail"
     done`,
  ]);
  await sh('sleep 1');
  return {
    async stop() {
      await sh(`sleep 1; touch ${flag}`);
      const r = await loop;
      await sh(`rm -f ${flag}`);
      return String(r.stdout).split('\n').filter(Boolean);
    },
  };
}

function expectOnlyOldOrNew(out: string[]): void {
  expect(out.filter((l) => l.startsWith('a')).length, 'probes ran during the faults').to.be.greaterThan(3);
  expect(
    out.filter((l) => l === 'a fail'),
    'x/a -> x/b:81 is allowed by the old and the new policy',
  ).to.deep.equal([]);
  expect(
    out.filter((l) => l === 'c ok'),
    'x/c -> x/b:81 is allowed by neither',
  ).to.deep.equal([]);
}

/** Converged: a restarted agent (a fresh reconciler) writes nothing, and no chain is left over. */
async function expectConverged(topo: Topology, dir: string): Promise<void> {
  for (const [node, ns] of topo.nodeNs) {
    const fresh = new NodeAgent(node, ns, 'tc');
    const r = await fresh.reconcile(dir);
    expect(r, `${node}: converged`).to.deep.include({ ok: true, writes: 0 });
    const runner = new ExecaTcRunner('tc', ns);
    const reader = new Reconciler(runner, kernelReader(runner), DEFAULT_COMPILE_OPTIONS.ctZone);
    const devices = [...(await kernelReader(runner).ingressQdiscs()).keys()];
    for (const [dev, state] of await reader.readStates(devices)) {
      if ('error' in state) throw new Error(state.error);
      const live = liveChains(state);
      expect(
        ownedChains(state).filter((c) => !live.has(c)),
        `${node} ${dev}: owned chains the entry does not reach`,
      ).to.deep.equal([]);
    }
  }
}

describe('faults on a real kernel', function () {
  let topo: Topology;
  let dir: string;
  let agents: Agents;
  let tools: string;

  before(async () => {
    await assertLab();
    dir = await writeManifests(A);
    const { snapshot, model } = await loadModel(dir);
    topo = await buildTopology(snapshot, model);
    await startServers([...topo.podNs.values()], ['UDP'], [80, 81]);
    agents = new Agents(topo);
    await agents.apply(dir);
    tools = await mkdtemp(join(tmpdir(), 'faults-'));
  });
  after(async () => {
    await topo?.teardown();
    if (tools) await rm(tools, { recursive: true, force: true });
  });

  it('tc killed with SIGKILL in the middle of a write batch: old or new verdicts only, then convergence', async () => {
    const probes = await startProbes(topo, join(tools, 'stop-1'));
    let failures = 0;
    for (const [i, cut] of [3, 30].entries()) {
      // Reads pass; a write batch gets only its first `cut` lines before tc is killed.
      const tc = join(tools, `tc-cut-${cut}`);
      await writeFile(
        tc,
        `#!/bin/sh\nif [ "$1" = "-batch" ]; then head -n ${cut} | tc -batch -; kill -9 $$; fi\nexec tc "$@"\n`,
      );
      await chmod(tc, 0o755);
      await writeManifests(i % 2 === 0 ? B : A, dir);
      for (const [node, ns] of topo.nodeNs) {
        const r = await new NodeAgent(node, ns, tc).reconcile(dir);
        failures += r.failed.length;
      }
      await agents.apply(dir);
    }
    const out = await probes.stop();
    expect(failures, 'the killed batches were reported as device failures').to.be.greaterThan(0);
    expectOnlyOldOrNew(out);
    await expectConverged(topo, dir);
  });

  it('a representor deleted in the middle of a reconcile fails alone, and is reinstalled once re-created', async () => {
    const b = pod('x', 'b');
    const c = pod('x', 'c');
    const cNode = topo.nodeNs.get(c.node)!;
    const cNs = topo.podNs.get('x/c')!;
    await writeManifests(A, dir);
    await agents.apply(dir);
    // The first write batch deletes x/c's representor before it runs.
    const tc = join(tools, 'tc-del-rep');
    const mark = join(tools, 'deleted');
    await writeFile(
      tc,
      `#!/bin/sh\nif [ "$1" = "-batch" ] && [ ! -e ${mark} ]; then touch ${mark}; ip link del ${c.rep}; fi\nexec tc "$@"\n`,
    );
    await chmod(tc, 0o755);
    const probes = await startProbes(topo, join(tools, 'stop-2'));
    await writeManifests(B, dir);
    const results = new Map<string, { ok: boolean; failed: string[] }>();
    // Only x/c's node runs the stand-in (the deletion must happen in its namespace).
    for (const [node, ns] of topo.nodeNs)
      results.set(node, await new NodeAgent(node, ns, ns === cNode ? tc : 'tc').reconcile(dir));
    const out = await probes.stop();
    expectOnlyOldOrNew(out);
    const failed = [...results.values()].flatMap((r) => r.failed);
    expect(
      failed.every((d) => d === c.rep),
      `only ${c.rep} may fail: ${failed.join(', ')}`,
    ).to.equal(true);
    // Re-create the representor as the topology made it, then the next reconcile converges.
    await sh(
      [
        `ip -n ${cNode} link add ${c.rep} type veth peer name net1 netns ${cNs}`,
        `ip -n ${cNode} link set ${c.rep} master br0 up`,
        `ip -n ${cNs} link set net1 address ${c.mac}`,
        `ip -n ${cNs} link set net1 up`,
        `ip -n ${cNs} addr add ${c.ipv4}/24 dev net1 nodad`,
        `ip -n ${cNs} addr add ${c.ipv6}/64 dev net1 nodad`,
      ].join('\n'),
    );
    await agents.apply(dir);
    await expectConverged(topo, dir);
    // x/c is isolated again (B allows it nothing): its probe to x/b is dropped.
    const cOut = await sh(
      `echo p | ip netns exec ${cNs} timeout 3 socat -T1 - UDP4:${b.ipv4}:81 2>/dev/null`,
      { allowFail: true },
    );
    expect(cOut.includes('p'), 'x/c -> x/b:81 after re-creation').to.equal(false);
  });

  it('the agent killed with SIGKILL in the middle of a reconcile, then restarted: old or new only, converged', async () => {
    const probes = await startProbes(topo, join(tools, 'stop-3'));
    const [node, ns] = [...topo.nodeNs].find(([n]) => n === pod('x', 'b').node)!;
    for (const [i, delayMs] of [4000].entries()) {
      await writeManifests(i % 2 === 0 ? B : A, dir);
      const agent = execa(
        'ip',
        [
          'netns',
          'exec',
          ns,
          'node',
          'build/src/cli/main.js',
          '--manifests',
          dir,
          '--hostname-override',
          node,
          '--once',
        ],
        { reject: false },
      );
      await new Promise((r) => setTimeout(r, delayMs));
      agent.kill('SIGKILL');
      await agent;
      const restarted = await agentOnce(dir, node, ns);
      expect(restarted.code, restarted.stderr).to.equal(0);
      await agents.apply(dir);
    }
    const out = await probes.stop();
    expectOnlyOldOrNew(out);
    await expectConverged(topo, dir);
  });

  it("someone else deleting the agent's qdisc or a live chain's filters: tc monitor sees it, the next reconcile reads that device alone and restores it", async () => {
    const b = pod('x', 'b');
    const c = pod('x', 'c');
    const [node, ns] = [...topo.nodeNs].find(([n]) => n === b.node)!;
    const bNs = topo.podNs.get('x/b')!;
    const aNs = topo.podNs.get('x/a')!;
    const udp81 = async (from: string, to: string) =>
      (
        await sh(`echo p | ip netns exec ${from} timeout 3 socat -T1 - UDP4:${to}:81 2>/dev/null`, {
          allowFail: true,
        })
      ).includes('p');
    await writeManifests(A, dir);
    await agents.apply(dir);
    const agent = new NodeAgent(node, ns, 'tc');
    expect((await agent.reconcile(dir)).ok).to.equal(true);
    const seen: RuleDeletion[] = [];
    const noticed: RuleDeletion[] = [];
    const errors: string[] = [];
    const monitor = startRuleMonitor(
      command('tc', ns),
      (e) => {
        seen.push(e);
        if (agent.reconciler.noticeDeletion(e)) noticed.push(e);
      },
      (m) => errors.push(m),
    );
    try {
      await sleep(1000);
      // The agent's own update deletes the chains it replaced: seen, but not taken for tampering.
      await writeManifests(B, dir);
      const update = await agent.reconcile(dir, false);
      expect(update).to.deep.include({ ok: true });
      expect(update.writes, 'the update wrote').to.be.greaterThan(0);
      await waitFor(
        'the deletions of the replaced chains',
        () => seen.some((e) => e.what === 'chain'),
        20_000,
      );
      await sleep(1000);
      expect(noticed, 'own deletions').to.deep.equal([]);
      expect(await agent.reconcile(dir, false), 'nothing to read or write').to.deep.include({ writes: 0 });

      // Someone deletes the clsact qdisc: x/b's egress is unfiltered until the agent acts.
      await sh(`ip netns exec ${ns} tc qdisc del dev ${b.rep} clsact`);
      await waitFor(
        'the qdisc deletion to be noticed',
        () => noticed.some((e) => e.what === 'qdisc'),
        20_000,
      );
      const restored = await agent.reconcile(dir, false);
      expect(restored.ok).to.equal(true);
      expect(restored.writes).to.be.greaterThan(0);
      // Real packets through the restored rules: B isolates x/b's egress; x/a -> x/b:81 is allowed.
      expect(await udp81(bNs, c.ipv4), 'x/b -> x/c:81 after the restore').to.equal(false);
      expect(await udp81(aNs, b.ipv4), 'x/a -> x/b:81 after the restore').to.equal(true);

      // Someone deletes the filters of one prio in a live chain (the state chain's final drop).
      const state = agent.reconciler.numberingOf(b.rep)![1]!;
      noticed.length = 0;
      await sh(`ip netns exec ${ns} tc filter del dev ${b.rep} ingress chain ${state} pref 44`);
      await waitFor('the filter deletion to be noticed', () => noticed.length > 0, 20_000);
      expect(noticed[0]).to.deep.include({ what: 'filter', device: b.rep, chain: state, pref: 44 });
      expect((await agent.reconcile(dir, false)).writes).to.be.greaterThan(0);
      expect(errors, 'monitor errors').to.deep.equal([]);
    } finally {
      monitor.stop();
    }
    // The other nodes are still on A: bring them to B, then every node must be converged.
    await agents.apply(dir);
    await expectConverged(topo, dir);
  });
});
