// The per-chain planner on random pairs of pipelines, applied line by line to a model of the
// kernel's tc state. For every batch:
//   - every line is valid for the model (no filter into a chain the model refuses, no delete of
//     what is not there, one entry, one protocol per chain and prio, no duplicate filter);
//   - after every prefix before the entry switch, what the entry reaches is unchanged (the old
//     rules, chain for chain); after the switch and every later prefix, it is the new pipeline;
//   - identical pipelines plan zero lines, and the model after the batch, read back and planned
//     again (a restart), plans zero lines.
// Pipelines come from random clusters (cluster-gen.ts), from pairs of unrelated devices, and from
// small edits of one pipeline: one port of a port chain, one address, a chain added or removed.
// An interrupted batch (cut at a random line) is followed by the plan from what it left.

import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { deviceStateOf, type KernelFilter } from '../../../src/tc/apply/device-state.js';
import { planDevice } from '../../../src/tc/apply/plan-device.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import type {
  Action,
  DevicePipeline,
  Filter,
  FilterProtocol,
  FlowerMatch,
  MatchDraft,
} from '../../../src/tc/ir.js';
import { ENTRY_COOKIE, isOwnedChain } from '../../../src/tc/layout.js';
import { build, clusterArb } from './cluster-gen.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;
const DEV = 'rep';
const RUNS = Number(process.env.PROPERTY_RUNS ?? 120);

// ---------------------------------------------------------------------------------------------
// A model of one device's ingress hook, fed with `tc -batch` lines. It reads the lines with its
// own parser (not the renderer's code) and refuses what tc or the kernel would refuse.

class KernelModel {
  qdisc = false;
  /** Owned and foreign chains alike: absolute chain -> filters (gotos absolute). */
  readonly chains = new Map<number, Filter[]>();
  entry: number | undefined;

  apply(line: string): void {
    const fail = (why: string): never => {
      throw new Error(`invalid line (${why}): ${line}`);
    };
    if (line === `qdisc add dev ${DEV} clsact`) {
      if (this.qdisc) fail('the qdisc exists');
      this.qdisc = true;
      return;
    }
    if (line === `qdisc del dev ${DEV} clsact`) {
      if (!this.qdisc || this.chains.size > 0 || this.entry !== undefined) fail('the hook is in use');
      this.qdisc = false;
      return;
    }
    if (!this.qdisc) fail('no qdisc');
    const chainDel = /^chain del dev (\S+) ingress chain (\d+)$/.exec(line);
    if (chainDel) {
      const c = Number(chainDel[2]);
      if (chainDel[1] !== DEV || !this.chains.has(c)) fail('no such chain');
      if (!isOwnedChain(c)) fail('not ours');
      this.chains.delete(c);
      return;
    }
    if (line === `filter del dev ${DEV} ingress protocol all pref 1 handle 1 chain 0 flower`) {
      if (this.entry === undefined) fail('no entry');
      this.entry = undefined;
      return;
    }
    const head =
      /^filter (add|replace) dev (\S+) ingress protocol (\S+) pref (\d+) (handle 1 )?chain (\d+) flower (.*)$/.exec(
        line,
      );
    if (!head || head[2] !== DEV) return fail('unknown command');
    const [verb, protocol, prio, handle, chain] = [
      head[1],
      head[3]!,
      Number(head[4]),
      head[5],
      Number(head[6]),
    ];
    const rest = head[7]!.split(' ').filter((w) => w !== 'skip_sw');
    if (chain === 0) {
      const m = /^action gact goto chain (\d+) cookie (\S+)$/.exec(rest.join(' '));
      if (!m || protocol !== 'all' || prio !== 1 || !handle || m[2] !== ENTRY_COOKIE)
        return fail('not the entry');
      if (verb === 'add' && this.entry !== undefined) fail('the entry exists');
      if (verb === 'replace' && this.entry === undefined) fail('no entry to replace');
      this.entry = Number(m[1]);
      return;
    }
    if (verb !== 'add' || handle) fail('only adds outside chain 0');
    if (!isOwnedChain(chain)) fail('a chain outside the owned range');
    const f = parseFlower(rest, protocol as FilterProtocol, prio, fail);
    const list = this.chains.get(chain) ?? [];
    for (const g of list) {
      if (g.prio === prio && g.protocol !== f.protocol) fail('another protocol at this prio');
      if (g.prio === prio && JSON.stringify(sortedMatch(g.match)) === JSON.stringify(sortedMatch(f.match)))
        fail('a filter with the same keys at this prio');
    }
    list.push(f);
    this.chains.set(chain, list);
  }

  /** What the agent reads back (as parseFilterDump would give it). */
  read(): ReturnType<typeof deviceStateOf> {
    const filters: KernelFilter[] = [];
    if (this.entry !== undefined)
      filters.push({
        chain: 0,
        prio: 1,
        protocol: 'all',
        handle: 1,
        cookie: ENTRY_COOKIE,
        gotoChain: this.entry,
      });
    for (const [chain, list] of this.chains) {
      for (const f of list) {
        const goto = f.actions.find((a) => a.kind === 'goto');
        filters.push({
          chain,
          prio: f.prio,
          protocol: f.protocol,
          filter: f,
          ...(goto?.kind === 'goto' ? { gotoChain: goto.chain } : {}),
        });
      }
    }
    return deviceStateOf(DEV, this.qdisc ? 'clsact' : undefined, filters);
  }

  /** The rule set the entry reaches, chain by chain (absolute numbers), as text. */
  reachable(): string {
    const out: string[] = [];
    const seen = new Set<number>();
    const todo = this.entry === undefined ? [] : [this.entry];
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (seen.has(c)) continue;
      seen.add(c);
      const list = this.chains.get(c) ?? [];
      out.push(
        `${c}: ${list
          .map((f) => filterText(f))
          .sort()
          .join(' | ')}`,
      );
      for (const f of list) for (const a of f.actions) if (a.kind === 'goto') todo.push(a.chain);
    }
    return out.sort().join('\n');
  }
}

function parseFlower(
  words: string[],
  protocol: FilterProtocol,
  prio: number,
  fail: (w: string) => never,
): Filter {
  const match: MatchDraft = {};
  let i = 0;
  const next = () => words[i++] ?? fail('truncated');
  while (i < words.length && words[i] !== 'action') {
    const key = next();
    const v = next();
    if (key === 'vlan_ethtype') match.vlanEthType = v as FlowerMatch['vlanEthType'];
    else if (key === 'cvlan_ethtype') match.cvlanEthType = v as FlowerMatch['cvlanEthType'];
    else if (key === 'ct_state') match.ctState = v as FlowerMatch['ctState'];
    else if (key === 'ip_proto') match.ipProto = v as FlowerMatch['ipProto'];
    else if (key === 'src_ip') match.srcIp = v;
    else if (key === 'dst_ip') match.dstIp = v;
    else if (key === 'dst_port') {
      const [a, b] = v.split('-').map(Number);
      match.dstPort = [a!, b ?? a!];
    } else if (key === 'type') {
      const [a, m] = v.split('/').map(Number);
      match.icmpType = a!;
      if (m !== undefined) match.icmpTypeMask = m;
    } else fail(`key ${key}`);
  }
  const actions: Action[] = [];
  while (i < words.length) {
    if (next() !== 'action') fail('action expected');
    const kind = next();
    if (kind === 'gact') {
      const v = next();
      if (v === 'pass' || v === 'drop') actions.push({ kind: v });
      else if (v === 'goto' && next() === 'chain') actions.push({ kind: 'goto', chain: Number(next()) });
      else fail('gact');
    } else if (kind === 'ct') {
      let w = next();
      const commit = w === 'commit';
      if (commit) w = next();
      if (w !== 'zone' || Number(next()) !== ZONE || next() !== 'pipe') fail('ct');
      actions.push({ kind: 'ct', commit });
    } else fail(`action ${kind}`);
  }
  if (actions.length === 0) fail('no action');
  return { prio, protocol, match, actions, note: '' };
}

function sortedMatch(m: FlowerMatch): [string, unknown][] {
  return Object.entries(m)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

function filterText(f: Filter, gotoName: (chain: number) => string = String): string {
  const actions = f.actions.map((a) =>
    a.kind === 'goto'
      ? `goto ${gotoName(a.chain)}`
      : a.kind === 'ct'
        ? `ct${a.commit ? ' commit' : ''}`
        : a.kind,
  );
  return JSON.stringify([f.prio, f.protocol, sortedMatch(f.match), actions]);
}

/**
 * A rule set's meaning whatever its chains are numbered: the root's content, gotos replaced by
 * their target's content (shared through one intern table, so equal sub-graphs get one name).
 */
class Shapes {
  private readonly ids = new Map<string, string>();

  of(chains: ReadonlyMap<number, readonly Filter[]>, root: number | undefined): string {
    if (root === undefined) return 'none';
    const memo = new Map<number, string>();
    const visit = (c: number, depth: number): string => {
      if (depth > 64) throw new Error('goto loop');
      const known = memo.get(c);
      if (known) return known;
      const text = (chains.get(c) ?? [])
        .map((f) => filterText(f, (t) => visit(t, depth + 1)))
        .sort()
        .join('|');
      let id = this.ids.get(text);
      if (id === undefined) {
        id = `#${this.ids.size}`;
        this.ids.set(text, id);
      }
      memo.set(c, id);
      return id;
    };
    return visit(root, 0);
  }

  ofPipeline(d: DevicePipeline): string {
    if (d.chains.length === 0) return 'none';
    return this.of(new Map(d.chains.map((c) => [c.index, c.filters])), 0);
  }

  ofModel(k: KernelModel): string {
    return this.of(k.chains, k.entry);
  }
}

// ---------------------------------------------------------------------------------------------
// Running one plan through the model.

interface Stats {
  batches: number;
  lines: number;
  switches: number;
  restarts: number;
  cut: number;
}

/** Plans `to` over the model, applies the batch (or its first `cutAt` lines) and checks it. */
function step(k: KernelModel, to: DevicePipeline, shapes: Shapes, stats: Stats, cutAt?: number): void {
  const plan = planDevice(to, k.read(), ZONE);
  const want = shapes.ofPipeline(to);
  const before = shapes.ofModel(k);
  const reachableBefore = k.reachable();
  if (before === want && before !== 'none') {
    // Already the rules wanted: only leftovers may go, nothing live moves.
    expect(
      plan.lines.filter((l) => !l.startsWith('chain del')),
      'equal rules: no writes',
    ).to.deep.equal([]);
  }
  stats.batches++;
  let switched = false;
  const lines = cutAt === undefined ? plan.lines : plan.lines.slice(0, cutAt % (plan.lines.length + 1));
  if (lines.length < plan.lines.length) stats.cut++;
  for (const line of lines) {
    k.apply(line);
    stats.lines++;
    if (/ chain 0 flower/.test(line)) {
      switched = true;
      stats.switches++;
    }
    if (!switched) {
      expect(k.reachable(), `before the switch, the live rules are untouched (after: ${line})`).to.equal(
        reachableBefore,
      );
    } else {
      expect(shapes.ofModel(k), `after the switch the device has the new rules (after: ${line})`).to.equal(
        want,
      );
    }
  }
  if (lines.length < plan.lines.length) return;
  expect(shapes.ofModel(k), 'after the batch').to.equal(want);
  if (to.chains.length === 0) {
    expect(k.entry).to.equal(undefined);
    expect([...k.chains.keys()]).to.deep.equal([]);
    return;
  }
  // Nothing left over: every owned chain is reached from the entry.
  const live = new Set(
    k
      .reachable()
      .split('\n')
      .map((l) => Number(l.split(':')[0])),
  );
  for (const c of k.chains.keys()) expect(live.has(c), `chain ${c} left over`).to.equal(true);
  // A restart reads the device back and writes nothing.
  const again = planDevice(to, k.read(), ZONE);
  expect(again.lines, 'a restart plans nothing').to.deep.equal([]);
  expect(again.chains).to.deep.equal(plan.chains);
  stats.restarts++;
}

// ---------------------------------------------------------------------------------------------
// Small edits of a pipeline (the IR is shared and never modified: edits copy).

type EditKind = 'port' | 'address' | 'addChain' | 'removeChain';
interface Edit {
  kind: EditKind;
  pick: number;
}

const editArb: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom<EditKind>('port', 'port', 'address', 'addChain', 'removeChain'),
  pick: fc.nat(),
});

function withChains(d: DevicePipeline, chains: DevicePipeline['chains']): DevicePipeline {
  return { ...d, chains };
}

function editFilter(
  d: DevicePipeline,
  pick: number,
  which: (f: Filter) => boolean,
  change: (f: Filter) => Filter,
) {
  const spots = d.chains.flatMap((c, ci) =>
    c.filters.flatMap((f, fi) => (which(f) ? [[ci, fi] as const] : [])),
  );
  if (spots.length === 0) return undefined;
  const [ci, fi] = spots[pick % spots.length]!;
  return withChains(
    d,
    d.chains.map((c, i) =>
      i === ci ? { ...c, filters: c.filters.map((f, j) => (j === fi ? change(f) : f)) } : c,
    ),
  );
}

function applyEdit(d: DevicePipeline, e: Edit): DevicePipeline | undefined {
  const verdict = (f: Filter) => {
    const last = f.actions[f.actions.length - 1];
    return last?.kind === 'pass' || last?.kind === 'drop';
  };
  switch (e.kind) {
    case 'port':
      return editFilter(
        d,
        e.pick,
        (f) => f.match.dstPort !== undefined,
        (f) => {
          const [a, b] = f.match.dstPort!;
          const up = b < 65535 ? 1 : -1;
          return { ...f, match: { ...f.match, dstPort: [a + up, b + up] } };
        },
      );
    case 'address':
      return editFilter(
        d,
        e.pick,
        (f) => f.match.dstIp !== undefined || f.match.srcIp !== undefined,
        (f) => {
          const key = f.match.dstIp !== undefined ? 'dstIp' : 'srcIp';
          const len = f.match[key]!.split('/')[1]!;
          const addr = f.match[key]!.includes(':')
            ? `fd99::${(e.pick % 4096).toString(16)}`
            : `198.51.${e.pick % 256}.7`;
          return { ...f, match: { ...f.match, [key]: `${addr}/${len}` } };
        },
      );
    case 'addChain': {
      const n = Math.max(...d.chains.map((c) => c.index)) + 1;
      const edited = editFilter(
        d,
        e.pick,
        (f) => verdict(f),
        (f) => ({ ...f, actions: [...f.actions.slice(0, -1), { kind: 'goto', chain: n }] }),
      );
      if (!edited) return undefined;
      const leaf: Filter = {
        prio: 10,
        protocol: 'all',
        match: {},
        actions: [{ kind: 'drop' }],
        note: 'added',
      };
      return withChains(edited, [...edited.chains, { index: n, purpose: 'added', filters: [leaf] }]);
    }
    case 'removeChain': {
      // A chain other than the root that jumps nowhere: its gotos become drops, later chains move down.
      const leaves = d.chains.filter(
        (c) => c.index > 0 && c.filters.every((f) => f.actions.every((a) => a.kind !== 'goto')),
      );
      if (leaves.length === 0) return undefined;
      const gone = leaves[e.pick % leaves.length]!.index;
      const renumber = (a: Action): Action =>
        a.kind !== 'goto'
          ? a
          : a.chain === gone
            ? { kind: 'drop' }
            : a.chain > gone
              ? { kind: 'goto', chain: a.chain - 1 }
              : a;
      return withChains(
        d,
        d.chains
          .filter((c) => c.index !== gone)
          .map((c) => ({
            ...c,
            index: c.index > gone ? c.index - 1 : c.index,
            filters: c.filters.map((f) => ({ ...f, actions: f.actions.map(renumber) })),
          })),
      );
    }
  }
}

/** Whether tc would take the pipeline (no two filters with the same keys at one chain and prio). */
function acceptable(d: DevicePipeline): boolean {
  return d.chains.every((c) => {
    const seen = new Set<string>();
    return c.filters.every((f) => {
      const key = `${f.prio} ${JSON.stringify(sortedMatch(f.match))}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });
}

function devicesOf(objects: unknown[]): DevicePipeline[] {
  const { snapshot, model } = build(objects);
  const out: DevicePipeline[] = [];
  for (const node of snapshot.nodes.keys()) {
    for (const d of compileNode(model, node, snapshot.nodes.get(node), DEFAULT_COMPILE_OPTIONS).devices)
      if (d.chains.length > 0) out.push({ ...d, device: DEV });
  }
  return out;
}

describe('planDevice: per-chain make-before-break on random pipeline pairs (property)', () => {
  it(`holds on ${RUNS} random sequences of pipelines, batches cut or whole`, function () {
    this.timeout(300_000);
    const stats: Stats = { batches: 0, lines: 0, switches: 0, restarts: 0, cut: 0 };
    let edits = 0;
    fc.assert(
      fc.property(
        clusterArb,
        clusterArb,
        fc.array(fc.tuple(editArb, fc.option(fc.nat(), { freq: 5 })), { minLength: 2, maxLength: 5 }),
        fc.nat(),
        (a, b, script, pick) => {
          const first = devicesOf(a.objects);
          const other = devicesOf(b.objects);
          if (first.length === 0) return;
          const shapes = new Shapes();
          const k = new KernelModel();
          let current = first[pick % first.length]!;
          step(k, current, shapes, stats);
          // Identical pipelines: zero lines.
          expect(planDevice(current, k.read(), ZONE).lines).to.deep.equal([]);
          for (const [i, [e, cut]] of script.entries()) {
            // Mostly small edits; sometimes an unrelated device of another cluster, or nothing.
            let next: DevicePipeline | undefined;
            if (i % 3 === 2 && other.length > 0) next = other[(pick + i) % other.length];
            else next = applyEdit(current, e);
            if (!next || !acceptable(next)) continue;
            if (next !== current) edits++;
            step(k, next, shapes, stats, cut ?? undefined);
            if (cut !== null) step(k, next, shapes, stats); // converge after the interruption
            current = next;
          }
          // And finally the cleanup.
          step(k, withChains(current, []), shapes, stats);
        },
      ),
      { numRuns: RUNS },
    );
    console.log(
      `      ${stats.batches} batches (${stats.cut} cut), ${stats.lines} lines, ${stats.switches} switches, ${stats.restarts} restarts, ${edits} pipeline changes`,
    );
    // The generators must produce real work, or the property says nothing.
    expect(stats.switches).to.be.greaterThan(RUNS);
    expect(stats.cut).to.be.greaterThan(RUNS / 10);
    // At least one restart per run that had a device (some runs draw none): margin for the draw.
    expect(stats.restarts).to.be.greaterThan(RUNS);
  });
});
