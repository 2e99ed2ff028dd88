// What holds the memory in a V8 heap snapshot (`--heapsnapshot-signal`, or cluster-agent.js
// --heap-snapshot): the retained size of the instances of the named classes, from the dominator
// tree (each byte counted once, under the one object that keeps it alive), and of each of their
// properties, two levels down (`--owners '(root)'`: from the top of the tree). Also the top classes by retained size, and the whole heap by type.
//
//   node --max-old-space-size=4096 build/bench/heap-owners.js FILE.heapsnapshot
//     [--owners NodeCompiler,Informer,...] [--depth 2] [--top 25]

import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const argv = process.argv.slice(2);
const file = argv.find((a) => !a.startsWith('--') && !argv[argv.indexOf(a) - 1]?.startsWith('--'));
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? dflt) : dflt;
};
if (!file) {
  console.error('usage: heap-owners.js FILE.heapsnapshot [--owners A,B] [--depth 2] [--top 25]');
  process.exit(2);
}
const owners = opt(
  'owners',
  'NodeCompiler,CompileCache,Memo,NodePipelineBuilder,SnapshotBuilder,ManifestsLoader,Informer,InformerObjects,Reconciler,AgentMetrics',
).split(',');
const depth = Number(opt('depth', '2'));
const top = Number(opt('top', '25'));

const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const meta = snap.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSize = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const WEAK = edgeTypes.indexOf('weak');
const SHORTCUT = edgeTypes.indexOf('shortcut');
const ELEMENT = edgeTypes.indexOf('element');
const HIDDEN = edgeTypes.indexOf('hidden');
const N = snap.nodes.length / NF;

// Edges in CSR form, by node number.
const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) {
  firstEdge[i] = e;
  e += snap.nodes[i * NF + nEdges]! * EF;
  firstEdge[i + 1] = e;
}
const target = (e: number) => snap.edges[e + eTo]! / NF;
const strong = (e: number) => {
  const t = snap.edges[e + eType];
  return t !== WEAK && t !== SHORTCUT;
};
const selfSize = (n: number) => snap.nodes[n * NF + nSize]!;
const typeOf = (n: number) => nodeTypes[snap.nodes[n * NF + nType]!]!;
const nameOf = (n: number) => snap.strings[snap.nodes[n * NF + nName]!]!;
const edgeName = (e: number) => {
  const t = snap.edges[e + eType];
  const v = snap.edges[e + eName]!;
  return t === ELEMENT || t === HIDDEN ? `[${v}]` : snap.strings[v]!;
};

// Depth-first postorder from the root (node 0) over strong edges.
const order = new Int32Array(N).fill(-1);
const post: number[] = [];
{
  const stack: number[] = [0];
  const next = new Uint32Array(N);
  order[0] = -2;
  for (let i = 0; i < N; i++) next[i] = firstEdge[i]!;
  while (stack.length) {
    const n = stack[stack.length - 1]!;
    let pushed = false;
    while (next[n]! < firstEdge[n + 1]!) {
      const e = next[n]!;
      next[n] = e + EF;
      if (!strong(e)) continue;
      const t = target(e);
      if (order[t] === -1) {
        order[t] = -2;
        stack.push(t);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      order[n] = post.length;
      post.push(n);
    }
  }
}
// Predecessors (strong edges, reachable nodes only).
const predCount = new Uint32Array(N + 1);
for (let n = 0; n < N; n++) {
  if (order[n]! < 0) continue;
  for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF)
    if (strong(e)) predCount[target(e) + 1] = predCount[target(e) + 1]! + 1;
}
for (let i = 0; i < N; i++) predCount[i + 1] = predCount[i + 1]! + predCount[i]!;
const preds = new Uint32Array(predCount[N]!);
{
  const fill = predCount.slice();
  for (let n = 0; n < N; n++) {
    if (order[n]! < 0) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) if (strong(e)) preds[fill[target(e)]!++] = n;
  }
}
// Immediate dominators (Cooper, Harvey and Kennedy), in postorder numbers.
const idom = new Int32Array(post.length).fill(-1);
const rootPo = order[0]!;
idom[rootPo] = rootPo;
const intersect = (a: number, b: number) => {
  while (a !== b) {
    while (a < b) a = idom[a]!;
    while (b < a) b = idom[b]!;
  }
  return a;
};
for (let changed = true; changed;) {
  changed = false;
  for (let po = post.length - 1; po >= 0; po--) {
    if (po === rootPo) continue;
    const n = post[po]!;
    let d = -1;
    for (let p = predCount[n]!; p < predCount[n + 1]!; p++) {
      const q = order[preds[p]!]!;
      if (q < 0 || idom[q] === -1) continue;
      d = d === -1 ? q : intersect(q, d);
    }
    if (d !== -1 && idom[po] !== d) {
      idom[po] = d;
      changed = true;
    }
  }
}
// Retained sizes: children before their dominator in postorder.
const retained = new Float64Array(post.length);
for (let po = 0; po < post.length; po++) retained[po] = selfSize(post[po]!);
for (let po = 0; po < post.length; po++) {
  const d = idom[po]!;
  if (po !== rootPo && d >= 0) retained[d] = retained[d]! + retained[po]!;
}
const ret = (n: number) => (order[n]! >= 0 ? retained[order[n]!]! : 0);

const MiB = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MiB`;
let total = 0;
const byType = new Map<string, number>();
const byClass = new Map<string, { count: number; self: number; retained: number }>();
for (let po = 0; po < post.length; po++) {
  const n = post[po]!;
  total += selfSize(n);
  byType.set(typeOf(n), (byType.get(typeOf(n)) ?? 0) + selfSize(n));
  if (typeOf(n) === 'object') {
    const c = byClass.get(nameOf(n)) ?? { count: 0, self: 0, retained: 0 };
    c.count++;
    c.self += selfSize(n);
    c.retained += ret(n);
    byClass.set(nameOf(n), c);
  }
}
console.log(`${file}: ${N} nodes, ${post.length} reachable, ${MiB(total)} live`);
console.log(
  `by type (self sizes): ${[...byType]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([t, s]) => `${t} ${MiB(s)}`)
    .join(', ')}`,
);
console.log(`\ntop ${top} classes by retained size (instances can nest: not additive)`);
for (const [name, c] of [...byClass].sort((a, b) => b[1].retained - a[1].retained).slice(0, top))
  console.log(`  ${MiB(c.retained).padStart(10)}  ${name} x${c.count} (self ${MiB(c.self)})`);

// The dominator tree's children of each node (postorder numbers).
const childStart = new Uint32Array(post.length + 1);
for (let po = 0; po < post.length; po++) {
  const d = idom[po]!;
  if (po !== rootPo && d >= 0) childStart[d + 1] = childStart[d + 1]! + 1;
}
for (let i = 0; i < post.length; i++) childStart[i + 1] = childStart[i + 1]! + childStart[i]!;
const children = new Uint32Array(childStart[post.length]!);
{
  const fill = childStart.slice();
  for (let po = 0; po < post.length; po++)
    if (po !== rootPo && idom[po]! >= 0) children[fill[idom[po]!]!++] = post[po]!;
}

/**
 * What `n` keeps alive, by retained size, `levels` deep: its dominator-tree children, named by
 * the property that holds them, or "(shared by its properties)" when two of its properties reach
 * them. Small children are grouped by type.
 */
function breakdown(n: number, indent: string, levels: number): void {
  const via = new Map<number, string>();
  for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) if (strong(e)) via.set(target(e), edgeName(e));
  const kids: [string, number][] = [];
  for (let c = childStart[order[n]!]!; c < childStart[order[n]! + 1]!; c++) {
    const t = children[c]!;
    const label = `${via.get(t) ?? '(reached by several of its properties)'}: ${typeOf(t)} ${nameOf(t).slice(0, 40)}`;
    kids.push([label, t]);
  }
  kids.sort((a, b) => ret(b[1]) - ret(a[1]));
  const rest = new Map<string, { size: number; count: number }>();
  kids.forEach(([label, t], i) => {
    if (i >= 10 || ret(t) < 256 * 1024) {
      const k = `${typeOf(t)} ${nameOf(t).slice(0, 30)}`;
      const r = rest.get(k) ?? { size: 0, count: 0 };
      r.size += ret(t);
      r.count++;
      rest.set(k, r);
      return;
    }
    console.log(`${indent}${MiB(ret(t)).padStart(10)}  ${label}`);
    if (levels > 1) breakdown(t, `${indent}    `, levels - 1);
  });
  for (const [k, r] of [...rest].sort((a, b) => b[1].size - a[1].size).slice(0, 4))
    if (r.size >= 256 * 1024)
      console.log(`${indent}${MiB(r.size).padStart(10)}  ${r.count} x ${k} (each small)`);
}
for (const owner of owners) {
  // "(root)": the whole dominator tree from the top.
  const instances =
    owner === '(root)' ? [0] : post.filter((n) => typeOf(n) === 'object' && nameOf(n) === owner);
  if (instances.length === 0) continue;
  const sum = instances.reduce((s, n) => s + ret(n), 0);
  console.log(`\n${owner} x${instances.length}: retains ${MiB(sum)}`);
  for (const n of instances.sort((a, b) => ret(b) - ret(a)).slice(0, 3)) breakdown(n, '  ', depth);
}

// Reachability by owner (`--reach A,B`): the objects each owner's data reaches (properties and
// elements, not closures, code, hidden classes or prototypes; not through another owner), split
// into what only that owner reaches and what two or more share. The dominator view above counts
// shared data under a common ancestor (a closure's context); this one says who shares it.
const reach = opt('reach', 'NodeCompiler,NodePipelineBuilder,Informer,SnapshotBuilder,WeakMap').split(',');
const skipEdges = new Set(['__proto__', 'map', 'constructor', 'prototype', 'context', 'shared']);
const dataTypes = new Set([
  'object',
  'array',
  'string',
  'concatenated string',
  'sliced string',
  'number',
  'hidden',
]);
const ownerOf = new Map<number, number>();
reach.forEach((name, i) => {
  for (const n of post) if (typeOf(n) === 'object' && nameOf(n) === name) ownerOf.set(n, i);
});
const seenBy = new Uint32Array(N);
for (const [start, i] of ownerOf) {
  const bit = 1 << i;
  const stack = [start];
  while (stack.length) {
    const n = stack.pop()!;
    if (seenBy[n]! & bit && n !== start) continue;
    seenBy[n] = seenBy[n]! | bit;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) {
      if (!strong(e) || skipEdges.has(edgeName(e))) continue;
      const t = target(e);
      if (!dataTypes.has(typeOf(t)) || nameOf(t) === 'system / Context') continue;
      if (ownerOf.has(t) && t !== start) continue;
      if (!(seenBy[t]! & bit)) stack.push(t);
    }
  }
}
const only = new Float64Array(reach.length);
const onlyByName = reach.map(() => new Map<string, number>());
const any = new Float64Array(reach.length);
let sharedTotal = 0;
for (let n = 0; n < N; n++) {
  const m = seenBy[n]!;
  if (!m) continue;
  const size = selfSize(n);
  const owners = reach.map((_, i) => i).filter((i) => m & (1 << i));
  for (const i of owners) any[i] = any[i]! + size;
  if (owners.length === 1) {
    only[owners[0]!] = only[owners[0]!]! + size;
    const k = `${typeOf(n)} ${nameOf(n).slice(0, 24)}`.replace(
      /^(string|concatenated string|number) .*/,
      '$1',
    );
    const by = onlyByName[owners[0]!]!;
    by.set(k, (by.get(k) ?? 0) + size);
  } else sharedTotal += size;
}
console.log('\nreachable from each owner (its data, not through another owner):');
reach.forEach((name, i) =>
  console.log(
    `  ${name.padEnd(20)} reaches ${MiB(any[i]!).padStart(10)}, of which only it ${MiB(only[i]!)}: ${[
      ...onlyByName[i]!,
    ]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([k, v]) => `${k} ${MiB(v)}`)
      .join(', ')}`,
  ),
);
console.log(`  shared by two or more: ${MiB(sharedTotal)}`);
