// What the reconciler's "may this device differ?" test costs (src/tc/apply/same-pipeline.ts), on
// the 100-representor node of bench/lab-apply.ts (b): the identity check after an incremental
// recompile, and the content comparison after a full rebuild (new objects, the same content:
// every filter compared, the worst case).
//
//   make build && node build/bench/same-pipeline.js [--runs 20]

import { samePipeline } from '../src/tc/apply/same-pipeline.js';
import { DEFAULT_COMPILE_OPTIONS } from '../src/tc/compile/options.js';
import { NodeCompiler } from '../src/tc/compile/node.js';
import { filterCount, type NodePipeline } from '../src/tc/ir.js';
import { build, compile, fmtMs, median } from './cluster.js';
import { LAB_100_DEVICES, synthesize } from './synthetic.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;

const synth = synthesize(LAB_100_DEVICES);
const built = build(synth.objects);
const compiler = new NodeCompiler(DEFAULT_COMPILE_OPTIONS);
const node = built.snapshot.nodes.get(synth.node);
const first = compiler.compile(built.model, synth.node, node);
// The same model again through the same compiler: unchanged devices come back as the same objects.
const again = compiler.compile(built.model, synth.node, node);
// A full rebuild from the objects: new objects, equal content.
const rebuilt = compile(build(synth.objects), synth.node);

function time(a: NodePipeline, b: NodePipeline): { ms: number; same: number } {
  const byName = new Map(b.devices.map((d) => [d.device, d]));
  const times: number[] = [];
  let same = 0;
  for (let r = 0; r < runs; r++) {
    same = 0;
    const t = performance.now();
    for (const d of a.devices) if (samePipeline(d, byName.get(d.device)!)) same++;
    times.push(performance.now() - t);
  }
  return { ms: median(times), same };
}

const filters = first.devices.reduce((n, d) => n + filterCount(d), 0);
console.log(
  `node ${synth.node}: ${first.devices.length} devices, ${filters} IR filters; median of ${runs} runs\n`,
);
const identical = time(first, again);
const content = time(first, rebuilt);
console.log(
  `identity (incremental recompile): ${fmtMs(identical.ms)} for ${first.devices.length} devices, ${identical.same} same`,
);
console.log(
  `content (full rebuild, all equal): ${fmtMs(content.ms)} for ${first.devices.length} devices, ${content.same} same`,
);
