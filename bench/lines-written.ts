// Lines a change writes, counted offline (no kernel): each changed device's kernel state is built
// from its old pipeline as a fresh install numbers it (10000 + i), then planned to the new pipeline
// with planDevice, as the agent would. "Changed filters" are the filters in the symmetric
// difference of the two pipelines (chains relative, notes ignored); "whole" is what a whole new
// rule set per device would write (every filter, the switch, a delete per old chain). "Changed,
// chains by name" counts the same with chains named by purpose instead of number (a chain that
// only moved is not a change); lines/changed and "max over" use the smaller of the two.
//
// Rows: the label change of lab-apply.ts (c) over the lab's 100 representors, one ingress port and
// one egress port changed in the same cluster; each with the override split off (the pipeline
// before issue 17's split), at the default thresholds, and forced (0). "max over" is the largest
// per-device overhead above the target's 2 x changed filters (lines - 2 x changed, per device).
//
//   node build/bench/lines-written.js [--thresholds 0,16,64] [--sub-thresholds 0,24,96] [--blocks]
//   (--thresholds: more values of overrideBlockSplit to compare; --sub-thresholds: more values of
//   overrideSubBlockSplit, the block split at its default; --blocks: the chains of a few VFs)

import { deviceStateOf, type KernelFilter } from '../src/tc/apply/device-state.js';
import { planDevice } from '../src/tc/apply/plan-device.js';
import { compileNode } from '../src/tc/compile/node.js';
import {
  DEFAULT_COMPILE_OPTIONS,
  DEFAULT_OVERRIDE_BLOCK_SPLIT,
  DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT,
  type CompileOptions,
} from '../src/tc/compile/options.js';
import type { DevicePipeline, Filter, NodePipeline } from '../src/tc/ir.js';
import { filterCount } from '../src/tc/ir.js';
import { ENTRY_CHAIN, ENTRY_COOKIE, ENTRY_HANDLE, ENTRY_PRIO, FRESH_NUMBERING } from '../src/tc/layout.js';
import { canonical } from '../src/tc/apply/plan-device.js';
import { build, table, type Built, type Obj } from './cluster.js';
import { LAB_100_DEVICES, synthesize, withLabelChange } from './synthetic.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

/** The kernel state of a device on which `d` was installed fresh (chains at 10000 + i). */
function installedState(d: DevicePipeline) {
  const filters: KernelFilter[] = [
    {
      chain: ENTRY_CHAIN,
      prio: ENTRY_PRIO,
      protocol: 'all',
      handle: ENTRY_HANDLE,
      cookie: ENTRY_COOKIE,
      gotoChain: FRESH_NUMBERING(0),
    },
  ];
  for (const c of d.chains) {
    for (const f of c.filters) {
      const abs: Filter = {
        ...f,
        actions: f.actions.map((a) =>
          a.kind === 'goto' ? { kind: 'goto', chain: FRESH_NUMBERING(a.chain) } : a,
        ),
      };
      const g = abs.actions.find((a) => a.kind === 'goto');
      filters.push({
        chain: FRESH_NUMBERING(c.index),
        prio: f.prio,
        protocol: f.protocol,
        filter: abs,
        gotoChain: g?.kind === 'goto' ? g.chain : undefined,
      });
    }
  }
  return deviceStateOf(d.device, 'clsact', filters);
}

function filterSet(d: DevicePipeline | undefined): Set<string> {
  return new Set(d?.chains.flatMap((c) => c.filters.map((f) => canonical(f, c.index, ZONE))) ?? []);
}

/**
 * The same with chains named by purpose, not number (the n-th chain of a purpose, should two
 * share one): a chain that only moved to another number changes no filter of it or of those
 * jumping to it. The sub-block chains that come and go renumber every chain after them, which
 * filterSet counts as changed.
 */
function filterSetByName(d: DevicePipeline | undefined): Set<string> {
  const name = new Map<number, string>();
  const seen = new Map<string, number>();
  for (const c of d?.chains ?? []) {
    const n = seen.get(c.purpose) ?? 0;
    seen.set(c.purpose, n + 1);
    name.set(c.index, `${c.purpose}#${n}`);
  }
  return new Set(
    d?.chains.flatMap((c) =>
      c.filters.map((f) => {
        const to = f.actions.flatMap((a) => (a.kind === 'goto' ? [name.get(a.chain)] : []));
        const unnumbered: Filter = {
          ...f,
          actions: f.actions.map((a) => (a.kind === 'goto' ? { kind: 'goto', chain: 0 } : a)),
        };
        return JSON.stringify([name.get(c.index), canonical(unnumbered, 0, ZONE), to]);
      }),
    ) ?? [],
  );
}

function symmetricDifference(x: Set<string>, y: Set<string>): number {
  return [...x].filter((k) => !y.has(k)).length + [...y].filter((k) => !x.has(k)).length;
}

interface Count {
  devices: number;
  changed: number;
  /** The same with chains by name (filterSetByName). */
  changedByName: number;
  whole: number;
  lines: number;
  filters: number;
  switches: number;
  deletes: number;
  /** The largest lines - 2 x changed filters of a device. */
  maxOver: number;
  /** Filter lines per relative chain role: 0, 1, 2, block and sub-block chains, rest, port/source chains. */
  byRole: Map<string, number>;
}

function role(d: DevicePipeline, chain: number): string {
  if (chain <= 2) return `+${chain}`;
  const purpose = d.chains.find((c) => c.index === chain)?.purpose ?? '';
  if (purpose.includes('to pods of this node in sub-block')) return 'sub-block';
  if (purpose.includes('to pods of this node in')) return 'block';
  if (purpose.includes('to any other destination')) return 'rest';
  return 'ports/sources';
}

function count(a: NodePipeline, b: NodePipeline): Count {
  const before = new Map(a.devices.map((d) => [d.device, d]));
  const out: Count = {
    devices: 0,
    changed: 0,
    changedByName: 0,
    whole: 0,
    lines: 0,
    filters: 0,
    switches: 0,
    deletes: 0,
    maxOver: -Infinity,
    byRole: new Map(),
  };
  for (const d of b.devices) {
    const old = before.get(d.device);
    const x = filterSet(old);
    const y = filterSet(d);
    const changed = symmetricDifference(x, y);
    if (changed === 0) continue;
    const byName = symmetricDifference(filterSetByName(old), filterSetByName(d));
    out.devices++;
    out.changed += changed;
    out.changedByName += byName;
    out.whole += filterCount(d) + 1 + (old?.chains.length ?? 0);
    const state = old ? installedState(old) : deviceStateOf(d.device, undefined, []);
    const plan = planDevice(d, state, ZONE);
    out.lines += plan.lines.length;
    out.maxOver = Math.max(out.maxOver, plan.lines.length - 2 * Math.min(changed, byName));
    const relative = new Map(plan.chains!.map((abs, rel) => [abs, rel]));
    for (const l of plan.lines) {
      if (l.startsWith('filter add') && !l.includes(' chain 0 ')) {
        out.filters++;
        const rel = relative.get(Number(/ chain (\d+)/.exec(l)![1]))!;
        const r = role(d, rel);
        out.byRole.set(r, (out.byRole.get(r) ?? 0) + 1);
      } else if (l.startsWith('filter replace') || l.startsWith('filter add')) out.switches++;
      else if (l.startsWith('chain del')) out.deletes++;
    }
  }
  return out;
}

function compileWith(b: Built, node: string, opts: CompileOptions): NodePipeline {
  return compileNode(b.model, node, b.snapshot.nodes.get(node), opts);
}

/** The same objects with the first policy port `from` (in policy `ns/name`) set to `to`. */
function withPort(objects: Obj[], ns: string, name: string, from: number, to: number): Obj[] {
  const out = objects.slice();
  const i = objects.findIndex((o) => {
    const m = o.metadata as { name?: string; namespace?: string } | undefined;
    return o.kind === 'MultiNetworkPolicy' && m?.namespace === ns && m.name === name;
  });
  if (i < 0) throw new Error(`no policy ${ns}/${name}`);
  const text = JSON.stringify(objects[i]);
  const changed = text.replace(`"port":${from}`, `"port":${to}`);
  if (changed === text) throw new Error(`policy ${ns}/${name} has no port ${from}`);
  out[i] = JSON.parse(changed) as Obj;
  return out;
}

function main(): void {
  const synth = synthesize(LAB_100_DEVICES);
  const base = build(synth.objects);
  const [podKey, index] =
    [...synth.localPods.entries()].find(([k]) => k.includes('/api-')) ?? [...synth.localPods.entries()][0]!;
  const changes: [string, Obj[]][] = [
    [`label change of ${podKey} (lab-apply (c))`, withLabelChange(synth.objects, index, 'search')],
    ['one ingress port 8080->8081 (ns-03/pol-3)', withPort(synth.objects, 'ns-03', 'pol-3', 8080, 8081)],
  ];
  const egress = synth.objects.find((o) => JSON.stringify(o).includes('"port":30000'));
  if (egress) {
    const m = egress.metadata as { name: string; namespace: string };
    changes.push([
      `one egress port 30000->30001 (${m.namespace}/${m.name})`,
      withPort(synth.objects, m.namespace, m.name, 30000, 30001),
    ]);
  }
  const variants: [string, CompileOptions][] = [
    ['no split', { ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: Number.MAX_SAFE_INTEGER }],
    [
      `split > ${DEFAULT_OVERRIDE_BLOCK_SPLIT}, sub > ${DEFAULT_OVERRIDE_SUB_BLOCK_SPLIT} (default)`,
      DEFAULT_COMPILE_OPTIONS,
    ],
  ];
  // --thresholds 0,16,64: more thresholds to compare (0 splits every VF with overrides).
  const at = process.argv.indexOf('--thresholds');
  const thresholds = at >= 0 ? process.argv[at + 1]!.split(',').map(Number) : [0];
  for (const n of thresholds)
    variants.push([`split > ${n}`, { ...DEFAULT_COMPILE_OPTIONS, overrideBlockSplit: n }]);
  // --sub-thresholds 0,24: the second level (a block chain split per sub-block) at other thresholds.
  variants.push([
    `split > ${DEFAULT_OVERRIDE_BLOCK_SPLIT}, no sub-blocks`,
    { ...DEFAULT_COMPILE_OPTIONS, overrideSubBlockSplit: Number.MAX_SAFE_INTEGER },
  ]);
  const sub = process.argv.indexOf('--sub-thresholds');
  for (const n of sub >= 0 ? process.argv[sub + 1]!.split(',').map(Number) : [0])
    variants.push([
      `split > ${DEFAULT_OVERRIDE_BLOCK_SPLIT}, sub > ${n}`,
      { ...DEFAULT_COMPILE_OPTIONS, overrideSubBlockSplit: n },
    ]);
  const rows: (string | number)[][] = [];
  for (const [what, objects] of changes) {
    const next = build(objects);
    for (const [label, opts] of variants) {
      const c = count(compileWith(base, synth.node, opts), compileWith(next, synth.node, opts));
      const roles = [...c.byRole.entries()]
        .sort()
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      rows.push([
        what,
        label,
        c.devices,
        c.changed,
        c.changedByName,
        c.whole,
        c.lines,
        `${c.filters} filters (${roles}), ${c.switches} switches, ${c.deletes} deletes`,
        (c.lines / Math.max(1, Math.min(c.changed, c.changedByName))).toFixed(1),
        c.maxOver,
      ]);
    }
  }
  console.log(
    table(
      [
        'change',
        'compile',
        'devices',
        'changed filters',
        'changed, chains by name',
        'lines whole',
        'lines now',
        'of which',
        'lines/changed',
        'max over',
      ],
      rows,
    ),
  );
  if (process.argv.includes('--blocks')) {
    const p = compileWith(base, synth.node, DEFAULT_COMPILE_OPTIONS);
    for (const d of p.devices.slice(0, 10)) {
      console.log(
        `${d.device}: ${d.chains.map((c) => `+${c.index} ${c.filters.length} (${c.purpose.slice(0, 60)})`).join('; ')}`,
      );
    }
  }
}

main();
