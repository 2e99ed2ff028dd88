// The real agent (CLI process, cluster mode) against the list/watch test server serving a
// synthetic cluster, with stand-in `tc`/`ip` (test/support). Prints: cold start to the first tc
// write and where the time goes (from the agent's own log timestamps), RSS steady after the first
// reconcile, RSS peak during N pod label changes, and the change-to-write latency of each change.
//
// The stand-in tc answers every filter dump with "no filters", so each reconcile rewrites every
// device it touches: the write volume is an upper bound of a real node's.
//
// Where the RSS goes comes from the agent's own /metrics (prom-client's process and V8 heap
// figures): heap used and committed per V8 space, external and array buffers. Run from another
// checkout's directory (`cd OTHER && node THIS/build/bench/cluster-agent.js`) to measure that
// checkout's agent with the same script, side by side.
//
//   make build && node build/bench/cluster-agent.js [--pods 5000] [--policies 500] [--changes 100]
//     [--node-options "--max-old-space-size=160 ..."] [--heap-snapshot DIR] [--env NAME=value]...
//     [--rounds 1] [--labels alternate|flip|unique]

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeTestServer } from '../test/support/kube-test-server.js';
import { StandInTools } from '../test/support/stand-in-tools.js';
import { AgentProcess, freePort } from '../test/support/agent-process.js';
import { BENCH_NODE, synthesize } from './synthetic.js';
import { fmtMs, median } from './cluster.js';

interface Args {
  pods: number;
  policies: number;
  changes: number;
  /** Extra node flags for the agent, e.g. "--max-old-space-size=128". */
  nodeOptions: string;
  /** Write a heap snapshot of the agent at steady state into this directory (heap-owners.js reads it). */
  heapSnapshot: string;
  /** Extra environment of the agent ("NAME=value", repeatable), e.g. malloc tunables. */
  env: string[];
  /** Rounds of `changes` label changes, each followed by a quiet time and the heap after the idle collection. */
  rounds: number;
  /**
   * The label each change sets: `alternate` (app=api/search by change number, as the first passes
   * measured; a pod changed again may get the value it has), `flip` (the other app: every change
   * changes selection), `unique` (flip, plus a `rev` label never seen before, as a rollout's
   * pod-template-hash: what a cache keyed by label values would keep).
   */
  labels: 'alternate' | 'flip' | 'unique';
}

function args(): Args {
  const a: Args = {
    pods: 5000,
    policies: 500,
    changes: 100,
    nodeOptions: '',
    heapSnapshot: '',
    env: [],
    rounds: 1,
    labels: 'alternate',
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1] ?? '';
    if (argv[i] === '--pods') a.pods = Number(v);
    else if (argv[i] === '--policies') a.policies = Number(v);
    else if (argv[i] === '--changes') a.changes = Number(v);
    else if (argv[i] === '--node-options') a.nodeOptions = v;
    else if (argv[i] === '--heap-snapshot') a.heapSnapshot = v;
    else if (argv[i] === '--env') a.env.push(v);
    else if (argv[i] === '--rounds') a.rounds = Number(v);
    else if (argv[i] === '--labels') {
      if (v !== 'alternate' && v !== 'flip' && v !== 'unique') throw new Error(`--labels ${v}?`);
      a.labels = v;
    } else continue;
    i++;
  }
  return a;
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const MiB = 1024 * 1024;

/** The agent's memory figures from its /metrics, in MiB. */
async function memoryBreakdown(port: number): Promise<string> {
  let text: string;
  try {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch (e) {
    return `(no /metrics: ${String(e)})`;
  }
  const value = (name: string, label = '') => {
    const re = new RegExp(
      `^multi_networkpolicy_tc_${name}${label ? `\\{[^}]*${label}[^}]*\\}` : ''} (\\S+)$`,
      'm',
    );
    const m = re.exec(text);
    return m ? Number(m[1]) / MiB : NaN;
  };
  const f = (x: number) => x.toFixed(1);
  const spaces = ['new', 'old', 'code', 'large_object']
    .map(
      (sp) =>
        `${sp} ${f(value('nodejs_heap_space_size_used_bytes', `space="${sp}"`))}/${f(value('nodejs_heap_space_size_total_bytes', `space="${sp}"`))}`,
    )
    .join(', ');
  return (
    `rss ${f(value('process_resident_memory_bytes'))}; V8 heap used ${f(value('nodejs_heap_size_used_bytes'))} of ` +
    `${f(value('nodejs_heap_size_total_bytes'))} committed (used/committed: ${spaces}); ` +
    `external ${f(value('nodejs_external_memory_bytes'))}; CPU ${(value('process_cpu_seconds_total') * MiB).toFixed(1)} s so far`
  );
}

/** Signals the agent to write a heap snapshot and waits until the file is complete. */
async function heapSnapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let last = -1; ;) {
    await sleep(1000);
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    // Written in one go: complete once it ends with the strings table and stops growing.
    if (size === last && size > 0) return join(dir, file);
    last = size;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const a = args();
console.log(
  `== the agent in cluster mode: ${a.pods} pods x ${a.policies} policies, ${a.changes} label changes, node ${process.version}`,
);
const synth = synthesize({
  pods: a.pods,
  policies: a.policies,
  localInterfaces: 100,
  otherNodes: 50,
  namespaces: 20,
  seed: 42,
});
const server = await new KubeTestServer().start();
server.apply(...synth.objects);
const reps = new Set<string>(['lo', 'p0']);
for (const o of synth.objects) {
  const s = JSON.stringify(o);
  for (const m of s.matchAll(/representor-device\\":\\"([^\\]+)/g)) reps.add(m[1]!);
}
const tools = new StandInTools([...reps]);
const writesLog = join(tools.dir, 'writes.log');
/** Bytes the stand-in tc has written since the log was last emptied. */
const written = () => (existsSync(writesLog) ? statSync(writesLog).size : 0);
const heapFlags = a.heapSnapshot
  ? ` --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${resolve(a.heapSnapshot)}`
  : '';
const env = {
  ...tools.env(),
  ...Object.fromEntries(a.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  NODE_OPTIONS: a.nodeOptions + heapFlags,
};
const metricsPort = await freePort();
const t0 = Date.now();
const agent = new AgentProcess(
  [
    '--master',
    server.url,
    '--hostname-override',
    BENCH_NODE,
    '--tc',
    tools.tc,
    '--device-source',
    'annotations',
    '--metrics-bind-address',
    `127.0.0.1:${metricsPort}`,
    '-v',
    '2',
  ],
  env,
);
const pid = agent.child.pid!;
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 20);
try {
  await until(() => written() > 0, 300_000, 'the first tc write');
  const firstWrite = Date.now() - t0;
  await until(() => agent.stderr.includes('reconciled node'), 300_000, 'the first reconcile');
  const firstReconcile = Date.now() - t0;
  const coldPeak = peak;
  // Where the time went, from the agent's log (ms since the process started).
  const at = (re: RegExp) => {
    const l = agent.lines().find((x) => re.test(x.msg));
    return l ? new Date(String(l.time)).getTime() - t0 : NaN;
  };
  // The agent's CPU time at that line (its own count: the machine's load does not inflate it).
  const cpuAt = (re: RegExp) => {
    const l = agent.lines().find((x) => re.test(x.msg));
    return typeof l?.cpuMs === 'number' ? l.cpuMs : NaN;
  };
  console.log(
    `\ncold start: first tc write after ${fmtMs(firstWrite)}, first reconcile done after ${fmtMs(firstReconcile)}`,
  );
  const steps: [string, RegExp | number][] = [
    ['node start + the cluster source modules (LISTs sent)', /^informers started/],
    ['+ the agent loop modules (agent started; LISTs in flight)', /^agent started/],
    ['LIST MultiNetworkPolicy done', /^listed MultiNetworkPolicy/],
    ['LIST Pod done (slowest kind)', /^listed Pod/],
    ['informers synced (the first reconcile starts)', /^informers synced/],
    ['snapshot + model + compile done', /^compiled node/],
    ['first tc write', firstWrite],
    ['reconcile done (all devices written)', /^reconciled node/],
  ];
  console.log('    wall ms  agent CPU ms');
  for (const [what, when] of steps) {
    const wall = typeof when === 'number' ? when : at(when);
    const cpu = typeof when === 'number' ? '' : String(cpuAt(when));
    console.log(`  ${String(Math.round(wall)).padStart(9)}  ${cpu.padStart(12)}  ${what}`);
  }
  const compiled = agent.lines().find((x) => x.msg.startsWith('compiled node'));
  if (compiled) console.log(`  (${compiled.msg})`);

  await sleep(3000);
  const steady = rssMiB(pid);
  console.log(
    `\nRSS: steady ${steady.toFixed(0)} MiB after the first reconcile (peak during cold start ${coldPeak.toFixed(0)} MiB)`,
  );
  console.log(`  steady: ${await memoryBreakdown(metricsPort)}`);
  if (a.heapSnapshot) console.log(`  heap snapshot: ${await heapSnapshot(pid, a.heapSnapshot)}`);
  // Settled: the idle collection (2 s after the pass) and V8's memory reducer (~8 s after a full
  // collection, when the allocation rate is low) have run; the 3 s figure above races with both.
  await sleep(Math.max(0, firstReconcile + 20_000 - (Date.now() - t0)));
  console.log(`RSS settled: ${rssMiB(pid).toFixed(0)} MiB 20 s after the first reconcile`);
  console.log(`  settled: ${await memoryBreakdown(metricsPort)}`);

  // Label changes on pods of the benchmarked node, one every 100 ms, in rounds.
  peak = 0;
  const local = [...synth.localPods.keys()];
  const latencies: number[] = [];
  const apps = ['api', 'search'];
  const since = (x: Record<string, unknown>) => new Date(String(x.time)).getTime() - t0;
  const idleLines = () => agent.lines().filter((x) => x.msg.startsWith('idle: collected'));
  let change = 0;
  for (let round = 1; round <= a.rounds; round++) {
    for (let i = 0; i < a.changes; i++, change++) {
      const [ns, name] = local[change % local.length]!.split('/') as [string, string];
      const pod = server.get('Pod', ns, name)!;
      const labels = { ...((pod.metadata as { labels: Record<string, string> }).labels ?? {}) };
      if (a.labels === 'alternate') labels.app = apps[change % 2]!;
      else labels.app = labels.app === apps[0] ? apps[1]! : apps[0]!;
      if (a.labels === 'unique') labels.rev = `r${change}`;
      // Emptied before each change: every change appends ~70k lines, and reading them all back
      // on each poll would make the bench, not the agent, the slow part of a long run.
      writeFileSync(writesLog, '');
      const tc = Date.now();
      server.setLabels('Pod', ns, name, labels);
      const waitStart = Date.now();
      while (written() === 0 && Date.now() - waitStart < 5000) await sleep(2);
      if (written() > 0) latencies.push(Date.now() - tc);
      await sleep(100);
    }
    const roundEnd = Date.now() - t0;
    await sleep(2000);
    const after = rssMiB(pid);
    // The agent collects its garbage once it has been quiet for a while (src/agent/idle-gc.ts).
    await sleep(10_000);
    const later = rssMiB(pid);
    // The heap used after the idle collection that followed this round: the live heap.
    const gcLine = idleLines().find((x) => since(x) > roundEnd);
    const live = gcLine ? (/-> ([\d.]+) MiB/.exec(gcLine.msg)?.[1] ?? '?') : '(no idle collection)';
    console.log(
      `RSS during ${a.rounds > 1 ? `round ${round} (changes ${change - a.changes + 1}-${change})` : `${a.changes} label changes`}: peak ${peak.toFixed(0)} MiB; ${after.toFixed(0)} MiB 2 s after the last, ${later.toFixed(0)} MiB 12 s after; heap used after the idle collection ${live} MiB`,
    );
    if (round === a.rounds || round === 1)
      console.log(`  after the changes: ${await memoryBreakdown(metricsPort)}`);
    peak = 0;
  }
  latencies.sort((x, y) => x - y);
  console.log(
    `change to first tc write: median ${fmtMs(median(latencies))}, p90 ${fmtMs(latencies[Math.floor(latencies.length * 0.9)] ?? NaN)}, max ${fmtMs(latencies.at(-1) ?? NaN)} (${latencies.length}/${change} changes wrote)`,
  );
  if (a.heapSnapshot && change > 0)
    console.log(`  heap snapshot after the changes: ${await heapSnapshot(pid, a.heapSnapshot)}`);
  // The passes and the idle collections, in ms since the agent started (whether the steady and
  // "after" figures above were read before or after an idle collection).
  const passes = agent
    .lines()
    .filter((x) =>
      (a.rounds > 1 ? /^(idle|burst): collected/ : /^(reconciled node|(idle|burst): collected)/).test(x.msg),
    );
  const gcTimes = agent
    .lines()
    .filter((x) => /^burst: collected/.test(x.msg))
    .map((x) => Number(/in (\d+) ms/.exec(x.msg)?.[1] ?? NaN));
  console.log(
    `  ${a.rounds > 1 ? 'collections' : 'passes and collections'}: ${passes.map((x) => `${since(x)} ${x.msg.startsWith('reconciled') ? 'pass' : `${x.msg.startsWith('idle') ? 'gc' : 'burst gc'} (${/heap used (.*) MiB/.exec(x.msg)?.[1] ?? ''})`}`).join('; ')}`,
  );
  console.log(
    `  burst collections (a pass that starts with the heap grown past the margin): ${gcTimes.length}, ${gcTimes.reduce((x, y) => x + y, 0)} ms in all`,
  );
  const t = Date.now();
  agent.kill('SIGTERM');
  const { code } = await agent.exited;
  console.log(`SIGTERM: exit ${code} after ${Date.now() - t} ms`);
} finally {
  clearInterval(sampler);
  if (agent.child.exitCode === null) agent.kill('SIGKILL');
  await server.stop();
  tools.remove();
}
