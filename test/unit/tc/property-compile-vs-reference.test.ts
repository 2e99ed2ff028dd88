// The compiled TC pipeline against the reference semantics, on random clusters: every flow the
// simulator can model gets the verdict of verdict() (the oracle), the reply of an allowed
// connection gets through (conntrack), and a new connection the other way gets the oracle's
// verdict for the reverse flow.
//
// Two runs: a fixed seed (42) and a random one, printed so a failure can be replayed with
// PROPERTY_SEED=<seed>. PROPERTY_RUNS overrides the number of clusters per run.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { verdict } from '../../../src/policy/verdict.js';
import type { Flow, PolicyModel } from '../../../src/policy/types.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile-options.js';
import { ClusterSimulator, type TraceResult } from '../../../src/tc/trace.js';
import {
  build,
  clusterArb,
  flowPickArb,
  ownerOf,
  resolveFlow,
  type FlowPick,
  type GenCluster,
} from './cluster-gen.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 2000);
const FLOWS_PER_CLUSTER = 12;
/** Flow cases one run must check (forward flows; reverse checks come on top). */
const MIN_CASES = Math.min(10_000, Math.floor(RUNS * FLOWS_PER_CLUSTER * 0.85));

interface Stats {
  clusters: number;
  flows: number;
  allowed: number;
  denied: number;
  reverse: number;
  /** Flows from a pod without a known representor: its egress is not enforced anywhere. */
  excluded: number;
  /** Picks the cluster had nothing for. */
  unresolved: number;
}

function newStats(): Stats {
  return { clusters: 0, flows: 0, allowed: 0, denied: 0, reverse: 0, excluded: 0, unresolved: 0 };
}

function describeFlow(f: Flow): string {
  return `${f.network} ${f.srcIp} -> ${f.dstIp} ${f.protocol}${f.port === undefined ? '' : `/${f.port}`}`;
}

function describeTrace(t: TraceResult): string {
  const hops = (list: TraceResult['forward']) =>
    list
      .map(
        (h) =>
          `  ${h.node}/${h.device}: ${h.result.verdict}${h.result.unclassified ? ' (unclassified)' : ''}\n` +
          h.result.hits.map((x) => `    chain ${x.chain} prio ${x.prio}: ${x.note}`).join('\n'),
      )
      .join('\n');
  return `trace ${t.verdict} (reply ${t.replyVerdict ?? '-'})\n forward:\n${hops(t.forward)}\n reply:\n${hops(t.reply)}`;
}

/** A flow the simulator cannot model: its source is a pod whose VF representor is unknown. */
function sourceUnmodelled(c: GenCluster, f: Flow): boolean {
  const src = ownerOf(c, f.network, f.srcIp);
  return src !== undefined && src.managed && src.representor === undefined;
}

function expectAgrees(model: PolicyModel, sim: ClusterSimulator, flow: Flow, srcPort: number, what: string) {
  const ref = verdict(model, flow);
  const t = sim.trace(flow, [], srcPort);
  const context = () => `${what}: ${describeFlow(flow)}\nreference: ${ref.reason}\n${describeTrace(t)}`;
  if (ref.verdict === 'allow') {
    if (t.verdict !== 'allow') throw new Error(`pipeline denies what the reference allows\n${context()}`);
    if (t.replyVerdict !== 'allow')
      throw new Error(`reply of an allowed connection is dropped\n${context()}`);
  } else if (t.verdict !== 'deny') {
    throw new Error(`pipeline allows what the reference denies\n${context()}`);
  }
  return ref.verdict;
}

function checkCluster(c: GenCluster, picks: FlowPick[], stats: Stats): void {
  const { snapshot, model } = build(c.objects);
  const sim = new ClusterSimulator(snapshot, model, DEFAULT_COMPILE_OPTIONS);
  stats.clusters++;
  for (const pick of picks) {
    const flow = resolveFlow(c, pick);
    if (!flow) {
      stats.unresolved++;
      continue;
    }
    if (sourceUnmodelled(c, flow)) {
      stats.excluded++;
      continue;
    }
    sim.resetConntrack();
    const v = expectAgrees(model, sim, flow, 40000, 'flow');
    stats.flows++;
    if (v === 'allow') stats.allowed++;
    else stats.denied++;
    // A new connection the other way, with the first connection still in conntrack: its state
    // must not leak into the reverse decision. ICMP tuples carry no id in the simulator (an echo
    // request the other way would look like the reply), so ICMP starts from a clean table.
    const reverse: Flow = { ...flow, srcIp: flow.dstIp, dstIp: flow.srcIp };
    if (sourceUnmodelled(c, reverse)) continue;
    if (flow.port === undefined) sim.resetConntrack();
    expectAgrees(model, sim, reverse, 40001, 'reverse flow (new connection)');
    stats.reverse++;
  }
}

function runProperty(seed: number, stats: Stats): void {
  fc.assert(
    fc.property(
      clusterArb,
      fc.array(flowPickArb, { minLength: FLOWS_PER_CLUSTER, maxLength: FLOWS_PER_CLUSTER }),
      (c, picks) => checkCluster(c, picks, stats),
    ),
    { seed, numRuns: RUNS },
  );
}

function report(label: string, stats: Stats, ms: number): void {
  console.log(
    `      ${label}: ${stats.clusters} clusters, ${stats.flows} flows (${stats.allowed} allowed, ` +
      `${stats.denied} denied) + ${stats.reverse} reverse, ${stats.excluded} excluded, ` +
      `${stats.unresolved} unresolved, ${ms} ms`,
  );
}

function propertySuite(label: string, seed: number): void {
  describe(`compiled pipeline vs reference semantics (${label})`, function () {
    this.timeout(120_000);
    it(`agrees on ${RUNS} random clusters x ${FLOWS_PER_CLUSTER} flows, replies and reverse connections`, () => {
      const stats = newStats();
      const t0 = Date.now();
      runProperty(seed, stats);
      report(`seed ${seed}`, stats, Date.now() - t0);
      expect(stats.flows, 'flow cases checked').to.be.at.least(MIN_CASES);
      expect(stats.allowed, 'some flows allowed').to.be.greaterThan(stats.flows / 10);
      expect(stats.denied, 'some flows denied').to.be.greaterThan(stats.flows / 10);
    });
  });
}

const envSeed = process.env.PROPERTY_SEED;
const randomSeed = envSeed !== undefined ? Number(envSeed) : Math.floor(Math.random() * 0x7fffffff);
console.log(`property-compile-vs-reference: random seed ${randomSeed} (replay: PROPERTY_SEED=${randomSeed})`);

propertySuite('seed 42', 42);
propertySuite(`random seed ${randomSeed}`, randomSeed);
