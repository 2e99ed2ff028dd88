// `explain`: one flow through the pipelines of every node it crosses, with the filters that
// decided it and the policy rules behind them; `--matrix`: the truth table of a whole network.

import type { Flow, L4Protocol, ManagedInterface, PolicyModel } from '../policy/types.js';
import { verdict as referenceVerdict } from '../policy/verdict.js';
import type { ClusterSnapshot } from '../cluster/snapshot.js';
import { ClusterSimulator, type TraceResult } from '../tc/simulate/trace.js';
import type { CompileOptions } from '../tc/compile/options.js';
import { parseAddress } from '../util/ip/index.js';
import { renderFilter } from '../tc/render/render-tc.js';
import { unenforcedEffect, unenforcedOnPath, type UnenforcedInterface } from '../node/device-map.js';
import {
  cellOf,
  FIRST_BATCH,
  HELD_FILTERS,
  LARGEST_BATCH,
  MatrixSimulator,
  type MatrixArgs,
  type MatrixTuning,
} from './matrix-simulator.js';

export type { MatrixArgs };

import { UsageError } from './usage-error.js';

export { UsageError };

export interface Endpoint {
  label: string;
  ip: string;
  iface?: ManagedInterface;
}

function podInterfaces(model: PolicyModel, pod: string, network?: string): ManagedInterface[] {
  return model.interfaces.filter((i) => i.pod === pod && (!network || i.network === network));
}

/** Picks the network of a flow: --network, or the one network both pod endpoints share. */
export function chooseNetwork(model: PolicyModel, from: string, to: string, network?: string): string {
  if (network) return network;
  const nets = (spec: string) =>
    spec.includes('/') && !parseAddress(spec)
      ? new Set(podInterfaces(model, spec).map((i) => i.network))
      : undefined;
  const a = nets(from);
  const b = nets(to);
  const common = a && b ? [...a].filter((n) => b.has(n)) : [...(a ?? b ?? [])];
  if (common.length === 1) return common[0]!;
  if (common.length === 0)
    throw new UsageError(`no managed network joins ${from} and ${to}; pass --network NS/NAD`);
  throw new UsageError(
    `${from} and ${to} share several networks (${common.sort().join(', ')}); pass --network NS/NAD`,
  );
}

function endpoint(model: PolicyModel, spec: string, network: string, family?: 4 | 6): Endpoint {
  const addr = parseAddress(spec);
  if (addr) {
    const iface = model.byIp.get(network)?.get(spec);
    return { label: iface ? iface.pod : spec, ip: spec, ...(iface ? { iface } : {}) };
  }
  const ifaces = podInterfaces(model, spec, network);
  if (ifaces.length === 0) throw new UsageError(`${spec} has no managed interface on ${network}`);
  const iface = ifaces[0]!;
  const ip = iface.ips.find((x) => !family || parseAddress(x)?.family === family);
  if (!ip) throw new UsageError(`${spec} has no IPv${family ?? ''} address on ${network}`);
  return { label: spec, ip, iface };
}

/**
 * The address family the flow must use: --family, else that of an endpoint given as an address
 * (a pod's address of the other family would make a packet no host sends), else undefined (the
 * source pod's first address decides).
 */
function flowFamily(args: ExplainArgs): 4 | 6 | undefined {
  const given = [args.from, args.to].flatMap((s) => {
    const f = parseAddress(s)?.family;
    return f === undefined ? [] : [{ s, f }];
  });
  const [a, b] = given;
  if (a && b && a.f !== b.f) throw new UsageError(`${a.s} and ${b.s} are of different address families`);
  if (a && args.family !== undefined && a.f !== args.family)
    throw new UsageError(`${a.s} is not an IPv${args.family} address (--family ${args.family})`);
  return args.family ?? a?.f;
}

export interface ExplainArgs {
  from: string;
  to: string;
  protocol: L4Protocol;
  port?: number;
  network?: string;
  family?: 4 | 6;
}

export function explainFlow(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  opts: CompileOptions,
  args: ExplainArgs,
  unenforced: readonly UnenforcedInterface[] = [],
): { json: unknown; text: string; verdict: 'allow' | 'deny'; notEnforced: UnenforcedInterface[] } {
  const network = chooseNetwork(model, args.from, args.to, args.network);
  let family = flowFamily(args);
  const src0 = endpoint(model, args.from, network, family);
  family = family ?? parseAddress(src0.ip)!.family;
  const src = endpoint(model, args.from, network, family);
  const dst = endpoint(model, args.to, network, family);
  const flow: Flow = {
    network,
    srcIp: src.ip,
    dstIp: dst.ip,
    protocol: args.protocol,
    ...(args.port !== undefined ? { port: args.port } : {}),
  };
  const sim = new ClusterSimulator(snapshot, model, opts);
  const t = sim.trace(flow);
  const ref = referenceVerdict(model, flow);
  const verdict = t.verdict === 'allow' && t.replyVerdict === 'allow' ? 'allow' : 'deny';
  // An allowed flow that crosses a direction no device filters is allowed because nothing checks
  // it, whatever the policy says: say so rather than a bare allow.
  const notEnforced = verdict === 'allow' ? unenforcedOnPath(unenforced, src.iface, dst.iface) : [];
  const hops = (list: TraceResult['forward']) =>
    list.map((h) => ({
      node: h.node,
      device: h.device,
      verdict: h.result.verdict,
      hits: h.result.hits.map((x) => ({
        chain: x.chain,
        prio: x.prio,
        note: x.note,
        tc: renderFilter(h.device, x.chain, x.filter, 0, opts.ctZone),
      })),
    }));
  const json = {
    verdict,
    notEnforced: notEnforced.map((u) => ({
      pod: u.pod,
      interface: u.interface,
      node: u.node,
      direction: u.direction,
      reason: u.reason,
    })),
    flow: {
      network,
      from: src.label,
      to: dst.label,
      srcIp: src.ip,
      dstIp: dst.ip,
      protocol: args.protocol,
      port: args.port,
    },
    reference: { verdict: ref.verdict, reason: ref.reason, egress: ref.egress, ingress: ref.ingress },
    forward: hops(t.forward),
    reply: hops(t.reply),
  };
  const lines: string[] = [];
  lines.push(`verdict: ${verdict}${notEnforced.length > 0 ? ' (NOT ENFORCED)' : ''}`);
  for (const u of notEnforced)
    lines.push(
      `  NOT ENFORCED: ${u.pod} ${u.interface} on node ${u.node}: ${u.reason}; ${unenforcedEffect(u.direction)}`,
    );
  lines.push(
    `flow: ${src.label} (${src.ip}) -> ${dst.label} (${dst.ip}) ${args.protocol}${args.port !== undefined ? `/${args.port}` : ''} on ${network}`,
  );
  lines.push(`policy: ${ref.reason}`);
  for (const o of [...ref.egress.allowedBy, ...ref.ingress.allowedBy]) {
    lines.push(`  allowed by ${o.policy} ${o.direction}[${o.index}]`);
  }
  const print = (title: string, list: ReturnType<typeof hops>) => {
    if (list.length === 0) lines.push(`${title}: crosses no filtered device`);
    for (const h of list) {
      const none = h.hits.length === 0 ? ' (no filters on this device)' : '';
      lines.push(`${title}: node ${h.node}, device ${h.device}: ${h.verdict}${none}`);
      for (const x of h.hits) lines.push(`  chain ${x.chain} prio ${x.prio}: ${x.note}\n    tc ${x.tc}`);
    }
  };
  print('packet', json.forward);
  if (t.verdict === 'allow') print('reply', json.reply);
  return { json, text: lines.join('\n') + '\n', verdict, notEnforced };
}

export function matrixKey(i: ManagedInterface, all: ManagedInterface[]): string {
  const twice = all.filter((x) => x.pod === i.pod).length > 1;
  return twice ? `${i.pod}@${i.interface}` : i.pod;
}

/** matrixKey of every interface of `all`, in one pass (matrixKey alone is linear per call). */
function matrixKeys(all: ManagedInterface[]): Map<ManagedInterface, string> {
  const perPod = new Map<string, number>();
  for (const i of all) perPod.set(i.pod, (perPod.get(i.pod) ?? 0) + 1);
  return new Map(all.map((i) => [i, perPod.get(i.pod)! > 1 ? `${i.pod}@${i.interface}` : i.pod]));
}

/** The rows and columns of a matrix, known before any cell is: a table can be printed row by row. */
export interface MatrixPlan {
  network: string;
  protocol: L4Protocol;
  port?: number;
  rows: string[];
  columns: string[];
}

export interface MatrixRow {
  source: string;
  /** Per destination column; a pair with no address family in common has no cell. */
  cells: Record<string, 'allow' | 'deny'>;
  /** The destinations this source reaches only because nothing filters the flow. */
  notEnforced: string[];
}

function inNamespaces(list: readonly string[] | undefined): (i: ManagedInterface) => boolean {
  if (!list || list.length === 0) return () => true;
  const set = new Set(list);
  return (i) => set.has(i.pod.slice(0, i.pod.indexOf('/')));
}

/**
 * The matrix of one network, row by row as each is computed (the first row long before the
 * last at 5,000 pods), with the nodes' pipelines held within a bounded size (MatrixSimulator).
 */
export function matrixRows(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  opts: CompileOptions,
  args: MatrixArgs,
  unenforced: readonly UnenforcedInterface[] = [],
  tuning: MatrixTuning = {},
): { plan: MatrixPlan; rows: Iterable<MatrixRow> } {
  const networks = [...new Set(model.interfaces.map((i) => i.network))].sort();
  const network = args.network ?? (networks.length === 1 ? networks[0] : undefined);
  if (!network)
    throw new UsageError(`several managed networks (${networks.join(', ')}); pass --network NS/NAD`);
  const ifaces = model.interfaces.filter((i) => i.network === network);
  const keys = matrixKeys(ifaces);
  const sources = ifaces.filter(inNamespaces(args.fromNamespaces));
  const destinations = ifaces.filter(inNamespaces(args.toNamespaces));
  for (const [flag, list, got] of [
    ['--from-namespace', args.fromNamespaces, sources],
    ['--to-namespace', args.toNamespaces, destinations],
  ] as const) {
    if (list && list.length > 0 && got.length === 0)
      throw new UsageError(`${flag} ${list.join(',')}: no managed pod interface on ${network}`);
  }
  const plan: MatrixPlan = {
    network,
    protocol: args.protocol,
    ...(args.port !== undefined ? { port: args.port } : {}),
    rows: sources.map((i) => keys.get(i)!),
    columns: destinations.map((i) => keys.get(i)!),
  };
  // Destinations grouped by node: a batch of rows visits each destination node once.
  const byNode = new Map<string, number[]>();
  destinations.forEach((d, j) => {
    const list = byNode.get(d.nodeName);
    if (list) list.push(j);
    else byNode.set(d.nodeName, [j]);
  });
  const destNodes = [...byNode.keys()].sort();
  function* rows(): Generator<MatrixRow> {
    const sim = new MatrixSimulator(snapshot, model, opts, destinations, tuning.heldFilters ?? HELD_FILTERS);
    let size = FIRST_BATCH;
    for (let start = 0; start < sources.length; start += size, size = Math.min(2 * size, LARGEST_BATCH)) {
      const batch = sources.slice(start, start + size);
      sim.holdRows(batch);
      // Per row and column: 0 no cell, 1 allow, 2 deny, 3 allowed because not enforced.
      const verdicts = batch.map(() => new Uint8Array(destinations.length));
      for (const node of destNodes) {
        for (const j of byNode.get(node)!) {
          const d = destinations[j]!;
          batch.forEach((s, r) => (verdicts[r]![j] = cellOf(sim, network!, s, d, args, unenforced)));
        }
      }
      for (let r = 0; r < batch.length; r++) {
        const cells: Record<string, 'allow' | 'deny'> = {};
        const notEnforced: string[] = [];
        verdicts[r]!.forEach((v, j) => {
          const key = plan.columns[j]!;
          if (v !== 0) cells[key] = v === 2 ? 'deny' : 'allow';
          if (v === 3) notEnforced.push(key);
        });
        yield { source: plan.rows[start + r]!, cells, notEnforced };
      }
    }
  }
  return { plan, rows: rows() };
}

export function explainMatrix(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  opts: CompileOptions,
  args: MatrixArgs,
  unenforced: readonly UnenforcedInterface[] = [],
): {
  network: string;
  protocol: L4Protocol;
  port?: number;
  matrix: Record<string, Record<string, 'allow' | 'deny'>>;
  /** Per source, the destinations it reaches only because nothing filters the flow (when any). */
  notEnforced?: Record<string, string[]>;
} {
  const { plan, rows } = matrixRows(snapshot, model, opts, args, unenforced);
  const matrix: Record<string, Record<string, 'allow' | 'deny'>> = {};
  const notEnforced: Record<string, string[]> = {};
  for (const row of rows) {
    matrix[row.source] = row.cells;
    if (row.notEnforced.length > 0) notEnforced[row.source] = row.notEnforced;
  }
  return {
    network: plan.network,
    protocol: plan.protocol,
    ...(plan.port !== undefined ? { port: plan.port } : {}),
    matrix,
    // Only when there is something to say: the JSON stays comparable with an observed matrix.
    ...(Object.keys(notEnforced).length > 0 ? { notEnforced } : {}),
  };
}
