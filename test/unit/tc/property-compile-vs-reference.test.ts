// The compiled TC pipeline against the reference semantics, on random clusters: every flow the
// simulator can model gets the verdict of verdict() (the oracle), the reply of an allowed
// connection gets through (conntrack), and a new connection the other way gets the oracle's
// verdict for the reverse flow. Each flow is checked again in 802.1Q (the same, reply included)
// and in QinQ (stateless: the first packet gets the untagged verdict), and as a mid-stream segment
// and an unsolicited answer with no connection behind them.
//
// Four runs: a fixed seed (42), a random one, and the random one again with every VF's chain +2
// split per address block (overrideBlockSplit 0), then with every block chain split again per
// sub-block (overrideSubBlockSplit 0). The random seed is printed so a failure can be replayed with
// PROPERTY_SEED=<seed>. PROPERTY_RUNS overrides the number of clusters per run.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { verdict } from '../../../src/policy/verdict.js';
import type { Flow, PolicyModel } from '../../../src/policy/types.js';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../../src/tc/compile/options.js';
import type { VlanTpid } from '../../../src/tc/simulate/packet.js';
import { ClusterSimulator, type PacketResult, type TraceResult } from '../../../src/tc/simulate/trace.js';
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
  /** Flows checked again in 802.1Q, and in QinQ. */
  vlan: number;
  qinq: number;
  /** Mid-stream segments and answers sent without a connection. */
  unconnected: number;
  /** Block chains (chain +2 split per address block) in the compiled pipelines. */
  blockChains: number;
  /** Of them, sub-block chains (the second dispatch level). */
  subBlockChains: number;
}

function newStats(): Stats {
  return {
    clusters: 0,
    flows: 0,
    allowed: 0,
    denied: 0,
    reverse: 0,
    excluded: 0,
    unresolved: 0,
    vlan: 0,
    qinq: 0,
    unconnected: 0,
    blockChains: 0,
    subBlockChains: 0,
  };
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

function expectAgrees(
  model: PolicyModel,
  sim: ClusterSimulator,
  flow: Flow,
  srcPort: number,
  what: string,
  tags: VlanTpid[] = [],
  /** Whether the reply of an allowed connection must get through (not for QinQ, see checkQinQ). */
  stateful = true,
) {
  const ref = verdict(model, flow);
  const t = sim.trace(flow, tags, srcPort);
  const context = () => `${what}: ${describeFlow(flow)}\nreference: ${ref.reason}\n${describeTrace(t)}`;
  if (ref.verdict === 'allow') {
    if (t.verdict !== 'allow') throw new Error(`pipeline denies what the reference allows\n${context()}`);
    if (stateful && t.replyVerdict !== 'allow')
      throw new Error(`reply of an allowed connection is dropped\n${context()}`);
  } else if (t.verdict !== 'deny') {
    throw new Error(`pipeline allows what the reference denies\n${context()}`);
  }
  return { ref: ref.verdict, trace: t };
}

const isIcmp = (f: Flow) => f.protocol === 'ICMP' || f.protocol === 'ICMPv6';

/** The flow a packet sent back from `flow`'s destination to its source port opens, when it opens one. */
function backFlow(flow: Flow, srcPort: number): Flow {
  const back: Flow = { network: flow.network, srcIp: flow.dstIp, dstIp: flow.srcIp, protocol: flow.protocol };
  return isIcmp(flow) ? back : { ...back, port: srcPort };
}

function fail(message: string, flow: Flow, hops: PacketResult['hops']): never {
  throw new Error(
    `${message}: ${describeFlow(flow)}\n${describeTrace({ verdict: 'deny', forward: hops, reply: [] })}`,
  );
}

/**
 * QinQ skips conntrack (docs/tc-rule-pipeline.md, section 5): every QinQ packet is judged as a new
 * connection. Its first packet gets the untagged verdict, and its reply the reference verdict of
 * the connection the reply would open the other way.
 */
function checkQinQ(c: GenCluster, model: PolicyModel, sim: ClusterSimulator, flow: Flow, stats: Stats): void {
  sim.resetConntrack();
  const { trace } = expectAgrees(model, sim, flow, 40000, 'QinQ flow', ['802.1ad', '802.1q'], false);
  const backward = backFlow(flow, 40000);
  if (trace.verdict === 'allow' && !sourceUnmodelled(c, backward)) {
    const back = verdict(model, backward).verdict;
    if (trace.replyVerdict !== back)
      fail(`QinQ reply: ${trace.replyVerdict ?? '-'}, reference of the way back: ${back}`, flow, trace.reply);
  }
  stats.qinq++;
}

/**
 * Packets without a connection behind them: a mid-stream segment and an unsolicited answer. For
 * TCP, SCTP and ICMP echo replies conntrack has nothing to place them in: they never pass where
 * the reference denies the connection they would belong to, nor once conntrack has seen them
 * (they are invalid). Where nothing is isolated they pass untouched. A UDP datagram opens a
 * connection whatever it is: it gets the reference verdict.
 */
function checkUnconnected(
  c: GenCluster,
  model: PolicyModel,
  sim: ClusterSimulator,
  flow: Flow,
  stats: Stats,
): void {
  // Conntrack saw the packet: with no entry for it, it is invalid there and must not pass.
  const tracked = (r: PacketResult) =>
    r.hops.some((h) => h.result.hits.some((x) => x.actions.some((a) => a.kind === 'ct')));
  const expectPacket = (r: PacketResult, opened: Flow, what: string) => {
    const ref = verdict(model, opened).verdict;
    if (flow.protocol === 'UDP') {
      if (r.verdict !== ref) fail(`${what} (UDP): ${r.verdict}, reference ${ref}`, opened, r.hops);
    } else if (r.verdict === 'allow' && (ref === 'deny' || tracked(r))) {
      fail(`${what} without a connection passes (reference ${ref})`, opened, r.hops);
    }
  };
  if (!isIcmp(flow)) {
    sim.resetConntrack();
    expectPacket(sim.send(flow, 'forward', { segment: 'later' }), flow, 'mid-stream segment');
    stats.unconnected++;
  }
  // An answer from a pod without a known representor is not filtered anywhere (as its egress).
  const back = backFlow(flow, 40000);
  if (sourceUnmodelled(c, back)) return;
  sim.resetConntrack();
  expectPacket(sim.send(flow, 'back', { segment: 'answer' }), back, 'unsolicited answer');
  stats.unconnected++;
}

function checkCluster(c: GenCluster, picks: FlowPick[], stats: Stats, opts: CompileOptions): void {
  const { snapshot, model } = build(c.objects);
  const sim = new ClusterSimulator(snapshot, model, opts);
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
    const v = expectAgrees(model, sim, flow, 40000, 'flow').ref;
    stats.flows++;
    if (v === 'allow') stats.allowed++;
    else stats.denied++;
    // A new connection the other way, with the first connection still in conntrack: its state
    // must not leak into the reverse decision (an ICMP echo the other way has another id).
    const reverse: Flow = { ...flow, srcIp: flow.dstIp, dstIp: flow.srcIp };
    if (!sourceUnmodelled(c, reverse)) {
      expectAgrees(model, sim, reverse, 40001, 'reverse flow (new connection)');
      stats.reverse++;
    }
    // 802.1Q gets the untagged verdict, reply included (conntrack follows one tag).
    sim.resetConntrack();
    expectAgrees(model, sim, flow, 40000, '802.1Q flow', ['802.1q']);
    stats.vlan++;
    checkQinQ(c, model, sim, flow, stats);
    checkUnconnected(c, model, sim, flow, stats);
  }
  for (const n of snapshot.nodes.keys()) {
    for (const d of sim.pipeline(n).devices) {
      stats.blockChains += d.chains.filter((ch) => ch.purpose.includes('to pods of this node in')).length;
      stats.subBlockChains += d.chains.filter((ch) => ch.purpose.includes(' in sub-block ')).length;
    }
  }
}

function runProperty(seed: number, stats: Stats, opts: CompileOptions): void {
  fc.assert(
    fc.property(
      clusterArb,
      fc.array(flowPickArb, { minLength: FLOWS_PER_CLUSTER, maxLength: FLOWS_PER_CLUSTER }),
      (c, picks) => checkCluster(c, picks, stats, opts),
    ),
    { seed, numRuns: RUNS },
  );
}

function report(label: string, stats: Stats, ms: number): void {
  console.log(
    `      ${label}: ${stats.clusters} clusters, ${stats.flows} flows (${stats.allowed} allowed, ` +
      `${stats.denied} denied) + ${stats.reverse} reverse, ${stats.vlan} 802.1Q, ${stats.qinq} QinQ, ` +
      `${stats.unconnected} without connection, ${stats.excluded} excluded, ` +
      `${stats.unresolved} unresolved, ${stats.blockChains} block chains (${stats.subBlockChains} sub-block), ${ms} ms`,
  );
}

function propertySuite(label: string, seed: number, opts: CompileOptions = DEFAULT_COMPILE_OPTIONS): void {
  describe(`compiled pipeline vs reference semantics (${label})`, function () {
    this.timeout(120_000);
    it(`agrees on ${RUNS} random clusters x ${FLOWS_PER_CLUSTER} flows, replies and reverse connections`, () => {
      const stats = newStats();
      const t0 = Date.now();
      runProperty(seed, stats, opts);
      report(`seed ${seed}`, stats, Date.now() - t0);
      expect(stats.flows, 'flow cases checked').to.be.at.least(MIN_CASES);
      expect(stats.allowed, 'some flows allowed').to.be.greaterThan(stats.flows / 10);
      expect(stats.denied, 'some flows denied').to.be.greaterThan(stats.flows / 10);
      expect(stats.vlan, 'every flow in 802.1Q').to.equal(stats.flows);
      expect(stats.qinq, 'every flow in QinQ').to.equal(stats.flows);
      expect(stats.unconnected, 'packets without a connection').to.be.greaterThan(stats.flows);
      if (opts.overrideBlockSplit === 0) {
        expect(stats.blockChains, 'block chains compiled').to.be.greaterThan(stats.clusters / 4);
      }
      if (opts.overrideSubBlockSplit === 0) {
        expect(stats.subBlockChains, 'sub-block chains compiled').to.be.greaterThan(stats.clusters / 8);
      }
    });
  });
}

const envSeed = process.env.PROPERTY_SEED;
const randomSeed = envSeed !== undefined ? Number(envSeed) : Math.floor(Math.random() * 0x7fffffff);
console.log(`property-compile-vs-reference: random seed ${randomSeed} (replay: PROPERTY_SEED=${randomSeed})`);

propertySuite('seed 42', 42);
propertySuite(`random seed ${randomSeed}`, randomSeed);
// Every VF with overrides gets its chain +2 split per address block (docs/tc-rule-pipeline.md §2).
propertySuite(`random seed ${randomSeed}, chain +2 split per block`, randomSeed, {
  ...DEFAULT_COMPILE_OPTIONS,
  overrideBlockSplit: 0,
});
// And every block chain split again per sub-block (the second dispatch level).
propertySuite(`random seed ${randomSeed}, split per block and sub-block`, randomSeed, {
  ...DEFAULT_COMPILE_OPTIONS,
  overrideBlockSplit: 0,
  overrideSubBlockSplit: 0,
});
