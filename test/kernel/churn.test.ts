// Churn soak on a real kernel: random policy, pod label and namespace label changes through the
// manifests source, each applied by long-lived agents (the incremental path). At the end the
// kernel must hold the rules of a fresh render of the final state (a fresh agent writes nothing), no
// owned chain the entry does not reach, the foreign filters planted at the start, and after a cleanup none of
// the agent's filters. Short by default (make test); `make soak` runs it long:
//   SOAK_STEPS=2000 SOAK_SECONDS=1800 (the first bound reached ends the churn).

import { expect } from 'chai';
import { after, before, describe, it } from 'mocha';
import { kernelReader, Reconciler } from '../../src/tc/apply/reconcile.js';
import { liveChains, ownedChains } from '../../src/tc/apply/device-state.js';
import { ExecaTcRunner } from '../../src/tc/apply/tc-runner.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../src/tc/compile/options.js';
import { buildTopology, type Topology } from './lab/topology.js';
import { Agents, loadModel } from './lab/observe.js';
import { agentOnce } from './lab/agent.js';
import { assertLab, sh, tcJson } from './lab/shell.js';
import { NAMESPACES, policy, worldObjects, worldPods, writeManifests } from './lab/world.js';

const STEPS = Number(process.env.SOAK_STEPS ?? 8);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 45);
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 100_000);

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

const FOREIGN = { chain: 0, pref: 49152 };

describe('churn soak on a real kernel', function () {
  let topo: Topology;
  let dir: string;
  const random = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

  before(async () => {
    await assertLab();
    dir = await writeManifests(worldObjects({ ipv6: true }));
    const { snapshot, model } = await loadModel(dir);
    topo = await buildTopology(snapshot, model);
    // Someone else's filter on every representor's ingress hook, before the agent runs.
    const lines: string[] = [];
    for (const p of worldPods()) {
      const ns = topo.nodeNs.get(p.node)!;
      lines.push(
        `tc -n ${ns} qdisc add dev ${p.rep} clsact 2>/dev/null || true`,
        `tc -n ${ns} filter add dev ${p.rep} ingress pref ${FOREIGN.pref} protocol all matchall action pass`,
      );
    }
    await sh(lines.join('\n'));
  });
  after(async () => topo?.teardown());

  function randomPolicy(i: number): unknown {
    const ns = pick(NAMESPACES);
    const sel = () =>
      random() < 0.3 ? {} : { matchLabels: { [pick(['pod', 'tier'])]: pick(['a', 'b', 'c', 'x']) } };
    const ports =
      random() < 0.3 ? undefined : [{ protocol: pick(['TCP', 'UDP', 'SCTP']), port: pick([80, 81, 443]) }];
    const peer = () =>
      random() < 0.2
        ? { ipBlock: { cidr: pick(['10.1.0.0/24', '10.1.0.8/29', 'fd00:1::/64']) } }
        : random() < 0.5
          ? { podSelector: sel() }
          : { namespaceSelector: { matchLabels: { ns: pick(NAMESPACES) } }, podSelector: sel() };
    const rule = (field: 'from' | 'to') => ({ [field]: [peer()], ...(ports ? { ports } : {}) });
    const types = pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
    return policy(ns, `churn-${i}`, {
      podSelector: sel(),
      policyTypes: types,
      ...(types.includes('Ingress') ? { ingress: [rule('from')] } : {}),
      ...(types.includes('Egress') ? { egress: [rule('to')] } : {}),
    });
  }

  it(`${STEPS} random changes (or ${SECONDS} s), then the kernel equals a fresh render`, async () => {
    console.log(`      churn seed ${SEED} (SOAK_SEED=${SEED} replays it)`);
    const agents = new Agents(topo);
    let objects = worldObjects({ ipv6: true }) as Obj[];
    let policies = new Map<string, unknown>();
    const t0 = Date.now();
    let steps = 0;
    let writes = 0;
    for (; steps < STEPS && Date.now() - t0 < SECONDS * 1000; steps++) {
      objects = structuredClone(objects);
      const op = random();
      if (op < 0.4) {
        policies.set(`p${steps % 12}`, randomPolicy(steps));
      } else if (op < 0.55 && policies.size > 0) {
        policies = new Map([...policies].filter(() => random() < 0.7));
      } else if (op < 0.85) {
        const pods = objects.filter((o) => o.kind === 'Pod');
        const p = pick(pods);
        p.metadata.labels = {
          pod: p.metadata.name,
          ...(random() < 0.5 ? { tier: pick(['a', 'b', 'c']) } : {}),
        };
      } else {
        const n = pick(objects.filter((o) => o.kind === 'Namespace'));
        n.metadata.labels = { ns: random() < 0.7 ? n.metadata.name : pick(NAMESPACES) };
      }
      await writeManifests([...objects, ...policies.values()], dir);
      writes += await agents.apply(dir);
    }
    console.log(
      `      churn: ${steps} changes in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${writes} tc lines`,
    );
    expect(steps).to.be.greaterThan(0);

    // A restarted agent (a new process) over the final state writes nothing: the kernel holds the render.
    for (const [node, ns] of topo.nodeNs) {
      const r = await agentOnce(dir, node, ns);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.writes, `${node}: lines a fresh agent writes`).to.equal(0);
      const runner = new ExecaTcRunner('tc', ns);
      const rec = new Reconciler(runner, kernelReader(runner), DEFAULT_COMPILE_OPTIONS.ctZone);
      const devices = [...(await kernelReader(runner).ingressQdiscs()).keys()];
      for (const [dev, state] of await rec.readStates(devices)) {
        if ('error' in state) throw new Error(state.error);
        const live = liveChains(state);
        expect(
          ownedChains(state).filter((c) => !live.has(c)),
          `${node} ${dev}: owned chains the entry does not reach`,
        ).to.deep.equal([]);
      }
    }

    // Without policies every device is cleaned: none of the agent's filters is left anywhere.
    await writeManifests(objects, dir);
    await agents.apply(dir);
    for (const p of worldPods()) {
      const ns = topo.nodeNs.get(p.node)!;
      const filters = (await tcJson(ns, `filter show dev ${p.rep} ingress`)) as {
        chain?: number;
        pref?: number;
      }[];
      const foreign = filters.filter((f) => f.chain === FOREIGN.chain && f.pref === FOREIGN.pref);
      expect(foreign.length, `${p.rep}: the foreign filter survived`).to.be.greaterThan(0);
      expect(
        filters.filter((f) => !(f.chain === FOREIGN.chain && f.pref === FOREIGN.pref)),
        `${p.rep}: leftovers`,
      ).to.deep.equal([]);
    }
  });
});
