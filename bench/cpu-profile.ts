// Where a process's CPU time went, from a V8 CPU profile (`node --cpu-prof`; for the agent:
// cluster-agent.js --node-options "... --cpu-prof --cpu-prof-dir=DIR" --changes 0): self time by
// part of the code (this project's directories, each npm package, node's internals, the garbage
// collector), the top functions, and the same for a time window (e.g. the cold start).
//
//   node build/bench/cpu-profile.js FILE.cpuprofile [--until MS] [--top 20]

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const argv = process.argv.slice(2);
const file = argv[0];
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : undefined;
};
if (!file) {
  console.error('usage: cpu-profile.js FILE.cpuprofile [--until MS] [--top 20]');
  process.exit(2);
}
const until = opt('until') ?? Number.POSITIVE_INFINITY;
const top = opt('top') ?? 20;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

/** The part of the code a function belongs to. */
function partOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm ${pkg[1]}`;
  const own = /\/build\/((?:src|test|bench)\/[^/]+)/.exec(url);
  if (own) return own[1]!;
  return url;
}

const parts = new Map<string, number>();
const functions = new Map<string, number>();
let t = 0;
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (t / 1000 > until) return;
  const n = byId.get(id);
  if (!n) return;
  const { functionName, url, lineNumber } = n.callFrame;
  if (functionName === '(idle)') return;
  total += dt;
  const part = partOf(url, functionName);
  parts.set(part, (parts.get(part) ?? 0) + dt);
  const fn = `${functionName || '(anonymous)'} ${url.replace(/^.*\/build\//, '').replace(/^.*node_modules\//, '')}:${lineNumber + 1}`;
  functions.set(fn, (functions.get(fn) ?? 0) + dt);
});
const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`;
console.log(
  `${file}: ${ms(total)} of CPU (samples, idle excluded)${Number.isFinite(until) ? ` in the first ${until} ms` : ''}`,
);
console.log('\nself time by part of the code:');
for (const [p, us] of [...parts].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`  ${ms(us).padStart(9)}  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${p}`);
console.log(`\ntop ${top} functions by self time:`);
for (const [f, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${ms(us).padStart(9)}  ${f}`);
