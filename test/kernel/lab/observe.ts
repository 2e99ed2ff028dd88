// The observed truth table of a network: agent once on every node, then real probes between
// every ordered pair of pods. Same JSON shape as `explain --matrix --format json`.

import { loadSnapshotFromDir } from '../../../src/cluster/load-manifests.js';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import type { L4Protocol, ManagedInterface, PolicyModel } from '../../../src/policy/types.js';
import { verdict } from '../../../src/policy/verdict.js';
import { matrixKey } from '../../../src/cli/explain.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { agentOnce, InProcessAgent } from './agent.js';
import { runProbes, type Probe, type ProbeProtocol } from './probe.js';
import type { Topology } from './topology.js';

export type Matrix = Record<string, Record<string, 'allow' | 'deny'>>;

export async function loadModel(dir: string): Promise<{ snapshot: ClusterSnapshot; model: PolicyModel }> {
  const snapshot = await loadSnapshotFromDir(dir);
  return { snapshot, model: buildPolicyModel(snapshot, { networkPlugins: ['accelerated-bridge'] }) };
}

/** Runs the agent binary (--once) for every node of the topology; throws if one fails. */
export async function applyAll(dir: string, topo: Topology, extra: string[] = []): Promise<number> {
  let writes = 0;
  for (const [node, ns] of topo.nodeNs) {
    const r = await agentOnce(dir, node, ns, extra);
    if (r.code !== 0) throw new Error(`agent on ${node} exited ${r.code}:\n${r.stderr}`);
    writes += r.writes;
  }
  return writes;
}

/** One long-running agent per node, in this process. */
export class Agents {
  readonly byNode = new Map<string, InProcessAgent>();

  constructor(topo: Topology) {
    for (const [node, ns] of topo.nodeNs) this.byNode.set(node, new InProcessAgent(node, ns));
  }

  /** Reconciles every node; throws if a device fails. Returns the tc lines written. */
  async apply(dir: string): Promise<number> {
    let writes = 0;
    for (const a of this.byNode.values()) {
      const r = await a.reconcile(dir);
      if (!r.ok) throw new Error(`reconcile on ${a.node} failed for ${r.failed.join(', ')}`);
      writes += r.writes;
    }
    return writes;
  }
}

export async function observeMatrix(
  model: PolicyModel,
  topo: Topology,
  network: string,
  protocol: ProbeProtocol,
  port: number,
  family: 4 | 6 = 4,
): Promise<Matrix> {
  const ifaces = model.interfaces.filter((i) => i.network === network);
  const ipOf = (i: ManagedInterface) => i.ips.find((ip) => ip.includes(':') === (family === 6));
  const probes: Probe[] = [];
  const cell = new Map<string, [string, string]>();
  for (const s of ifaces) {
    for (const d of ifaces) {
      if (s.pod === d.pod || !ipOf(s) || !ipOf(d)) continue;
      const id = `p${probes.length}`;
      cell.set(id, [matrixKey(s, ifaces), matrixKey(d, ifaces)]);
      probes.push({ id, srcNs: topo.podNs.get(s.pod)!, dstIp: ipOf(d)!, protocol, port });
    }
  }
  const res = await runProbes(probes);
  const m: Matrix = {};
  for (const s of ifaces) if (ipOf(s)) m[matrixKey(s, ifaces)] = {};
  for (const [id, [s, d]] of cell) m[s]![d] = res.get(id) ? 'allow' : 'deny';
  return m;
}

/**
 * The reference verdicts (src/policy/verdict.ts, no pipeline involved) for the cells of
 * `explain --matrix`: a compiler bug the simulator shares shows up as a difference with this.
 */
export function referenceMatrix(
  model: PolicyModel,
  network: string,
  protocol: L4Protocol,
  port: number | undefined,
  family: 4 | 6 = 4,
): Matrix {
  const ifaces = model.interfaces.filter((i) => i.network === network);
  const ipOf = (i: ManagedInterface) => i.ips.find((ip) => ip.includes(':') === (family === 6));
  const m: Matrix = {};
  for (const s of ifaces) {
    const srcIp = ipOf(s);
    if (!srcIp) continue;
    const row: Record<string, 'allow' | 'deny'> = {};
    for (const d of ifaces) {
      const dstIp = ipOf(d);
      if (s.pod === d.pod || !dstIp) continue;
      const flow = { network, srcIp, dstIp, protocol, ...(port !== undefined ? { port } : {}) };
      row[matrixKey(d, ifaces)] = verdict(model, flow).verdict;
    }
    m[matrixKey(s, ifaces)] = row;
  }
  return m;
}

/** Cells where two matrices differ, as readable lines. */
export function diffMatrix(expected: Matrix, observed: Matrix): string[] {
  const out: string[] = [];
  for (const s of Object.keys(expected)) {
    for (const d of Object.keys(expected[s]!)) {
      if (expected[s]![d] !== observed[s]?.[d])
        out.push(`${s} -> ${d}: expected ${expected[s]![d]}, observed ${observed[s]?.[d]}`);
    }
  }
  return out;
}
