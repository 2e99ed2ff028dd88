// The apply layer against a real kernel (run inside the QEMU lab by bench/lab-apply.sh):
//
//   (a) one device with a ~10,000-filter pipeline: Reconciler (ExecaTcRunner + kernelReader) on a
//       fresh veth against raw `tc -batch -` of the same lines on another fresh veth, alternating;
//       then a no-op reconcile of the installed 10k device;
//   (b) 100 VF representors (veths) + the uplink with a compiled pipeline each: first reconcile
//       (install), then a second one, which should write nothing;
//   (c) one pod's label change on that node: recompile and reconcile as the agent does on an
//       event (not full: only devices whose pipeline changed are read); how many devices get
//       read and written, in how many processes, and the time from the change to the rules being
//       in the kernel; then a no-op reconcile (reads nothing) and a full one (the periodic resync,
//       reads every device).
//
//   node build/bench/lab-apply.js [a] [b]     (inside the lab; default both; (c) runs with b)

import { execa } from 'execa';
import { classify } from '../src/tc/apply/device-state.js';
import { parseFilterDump } from '../src/tc/apply/parse-filters.js';
import { planDevice } from '../src/tc/apply/plan-device.js';
import { Reconciler, kernelReader, type ReadDevices } from '../src/tc/apply/reconcile.js';
import { samePipeline } from '../src/tc/apply/same-pipeline.js';
import { ExecaTcRunner, type BatchFailure, type TcRunner } from '../src/tc/apply/tc-runner.js';
import { DEFAULT_COMPILE_OPTIONS } from '../src/tc/compile-options.js';
import type { DevicePipeline, NodePipeline } from '../src/tc/ir.js';
import { filterCount } from '../src/tc/ir.js';
import { renderEntry, renderGenerationLines } from '../src/tc/render-tc.js';
import {
  build,
  compile,
  diffPipelines,
  fmtMs,
  ipv4,
  median,
  nad,
  namespace,
  node,
  pod,
  policy,
  table,
} from './cluster.js';
import { LAB_100_DEVICES, synthesize, withLabelChange } from './synthetic.js';

const ZONE = DEFAULT_COMPILE_OPTIONS.ctZone;

async function sh(script: string): Promise<string> {
  const r = await execa('bash', ['-c', script], { reject: false });
  if (r.exitCode !== 0) throw new Error(`failed (exit ${r.exitCode}): ${script.slice(0, 300)}\n${r.stderr}`);
  return r.stdout;
}

/** Creates veth pairs (the first name is the "representor"), all up, in one `ip -batch`. */
async function addVeths(names: string[]): Promise<void> {
  const lines = names.flatMap((n) => [`link add ${n} type veth peer name ${n}x`, `link set ${n} up`]);
  await execa('ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
}

async function delVeths(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await execa('ip', ['-batch', '-'], {
    input: names.map((n) => `link del ${n}`).join('\n') + '\n',
    reject: false,
  });
}

/** ExecaTcRunner that also measures the time spent in write batches, and counts processes. */
class TimedRunner implements TcRunner {
  private readonly inner = new ExecaTcRunner();
  batchMs = 0;
  jsonMs = 0;
  /** tc and ip processes started since the last reset. */
  processes = 0;
  get writes(): number {
    return this.inner.writes;
  }
  async batch(lines: string[]): Promise<BatchFailure | undefined> {
    this.processes++;
    const t = performance.now();
    try {
      return await this.inner.batch(lines);
    } finally {
      this.batchMs += performance.now() - t;
    }
  }
  async json(args: string[]): Promise<unknown[]> {
    this.processes++;
    const t = performance.now();
    try {
      return await this.inner.json(args);
    } finally {
      this.jsonMs += performance.now() - t;
    }
  }
  readBatch(lines: string[]): Promise<string> {
    this.processes++;
    return this.inner.readBatch(lines);
  }
  ipJson(args: string[]): Promise<unknown[]> {
    this.processes++;
    return this.inner.ipJson(args);
  }
  reset(): void {
    this.batchMs = 0;
    this.jsonMs = 0;
    this.processes = 0;
  }
}

/** kernelReader with the time of its processes (ip link, tc qdisc show, tc filter show) summed. */
function timedReader(runner: TcRunner): ReadDevices & { ms: number } {
  const r = kernelReader(runner);
  const t = {
    ms: 0,
    async links() {
      const s = performance.now();
      const v = await r.links();
      t.ms += performance.now() - s;
      return v;
    },
    async ingressQdiscs() {
      const s = performance.now();
      const v = await r.ingressQdiscs();
      t.ms += performance.now() - s;
      return v;
    },
    async filterDumps(devices: string[]) {
      const s = performance.now();
      const v = await r.filterDumps(devices);
      t.ms += performance.now() - s;
      return v;
    },
  };
  return t;
}

async function kernelFilters(device: string): Promise<number> {
  const out = await sh(`tc -j filter show dev ${device} ingress`);
  const list = out.trim() ? (JSON.parse(out) as { options?: unknown }[]) : [];
  return list.filter((f) => f.options !== undefined).length;
}

// ---------------------------------------------------------------------------------------------
// (a) one 10k-filter device

/** An egress policy of `n` distinct, non-adjacent /32 ipBlock peers on TCP 443 (3 filters each). */
function bigDevice(n: number): DevicePipeline {
  const objects = [
    namespace('bench'),
    nad('bench', 'net1'),
    node('lab'),
    pod({
      ns: 'bench',
      name: 'client',
      node: 'lab',
      labels: { app: 'client' },
      ifaces: [{ network: 'bench/net1', ips: ['10.10.0.2'], representor: 'big0', vf: 0 }],
    }),
    policy('bench', 'many-peers', 'net1', {
      podSelector: { matchLabels: { app: 'client' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: Array.from({ length: n }, (_, k) => ({
            ipBlock: { cidr: `${ipv4((10 << 24) | (20 << 16) | (4 * k + 1))}/32` },
          })),
          ports: [{ protocol: 'TCP', port: 443 }],
        },
      ],
    }),
  ];
  const p = compile(build(objects), 'lab');
  return p.devices.find((d) => d.device === 'big0')!;
}

/** Where a reconcile of the installed 10k device spends its time, one step at a time (pure CPU apart from the dump). */
async function cpuBreakdown(dev: DevicePipeline, runner: TcRunner): Promise<void> {
  const fresh = classify(dev.device, undefined, []);
  let t = performance.now();
  const install = planDevice(dev, fresh, ZONE);
  const planInstall = performance.now() - t;
  t = performance.now();
  const qdiscs = await kernelReader(runner).ingressQdiscs();
  const [dump] = await kernelReader(runner).filterDumps([dev.device]);
  const read = performance.now() - t;
  t = performance.now();
  const filters = parseFilterDump(dump!.ingress, ZONE);
  const state = classify(dev.device, qdiscs.get(dev.device), filters, parseFilterDump(dump!.egress));
  const parse = performance.now() - t;
  t = performance.now();
  const noop = planDevice(dev, state, ZONE);
  const planNoop = performance.now() - t;
  breakdownRows.push(
    [
      'install: planDevice (canonical desired set + renderGenerationLines)',
      fmtMs(planInstall),
      `${install.lines.length} lines`,
    ],
    [
      'no-op: tc qdisc show + tc -s -j filter show (read + JSON.parse)',
      fmtMs(read),
      `${filters.length} filters`,
    ],
    ['no-op: parseFilterDump + classify', fmtMs(parse), ''],
    [
      'no-op: planDevice (canonical kernel set vs desired set)',
      fmtMs(planNoop),
      `${noop.lines.length} lines (${noop.kind})`,
    ],
  );
}

const breakdownRows: string[][] = [];

async function partA(reps: number): Promise<void> {
  console.log('== (a) one device, ~10,000 filters: Reconciler vs raw tc -batch\n');
  const dev = bigDevice(3320);
  const kernelCount = filterCount(dev) + 1;
  const raw: DevicePipeline = { ...dev, device: 'raw0' };
  const rawLines = [
    'qdisc add dev raw0 clsact',
    ...renderGenerationLines(raw, 0, ZONE),
    renderEntry('raw0', 0, 'add'),
  ];
  console.log(
    `pipeline: ${kernelCount} kernel filters in ${dev.chains.length} chains; raw batch ${rawLines.length} lines`,
  );
  const pipeline: NodePipeline = { node: 'lab', devices: [dev], warnings: [] };
  const rows: (string | number)[][] = [];
  const rawMs: number[] = [];
  const recMs: number[] = [];
  const noopMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    await addVeths(['raw0']);
    let t = performance.now();
    const r = await execa('tc', ['-batch', '-'], { input: rawLines.join('\n') + '\n', reject: false });
    const rawT = performance.now() - t;
    if (r.exitCode !== 0) throw new Error(`raw tc -batch failed: ${r.stderr}`);
    const rawInKernel = await kernelFilters('raw0');
    await delVeths(['raw0']);

    await addVeths(['big0']);
    const runner = new TimedRunner();
    const reader = timedReader(runner);
    const rec = new Reconciler(runner, reader, ZONE);
    t = performance.now();
    const rep = await rec.reconcile(pipeline);
    const recT = performance.now() - t;
    if (rep.failed.length > 0)
      throw new Error(`reconcile failed: ${rep.outcomes.map((o) => o.error).join('; ')}`);
    const installBatch = runner.batchMs;
    const installRead = reader.ms;
    const recInKernel = await kernelFilters('big0');
    runner.reset();
    reader.ms = 0;
    t = performance.now();
    const again = await rec.reconcile(pipeline);
    const noopT = performance.now() - t;
    if (i === reps - 1) await cpuBreakdown(dev, runner);
    await delVeths(['big0']);
    rawMs.push(rawT);
    recMs.push(recT);
    noopMs.push(noopT);
    rows.push([
      i + 1,
      fmtMs(rawT),
      rawInKernel,
      fmtMs(recT),
      fmtMs(installBatch),
      fmtMs(installRead),
      rep.writes,
      recInKernel,
      (recT / rawT).toFixed(2),
      fmtMs(noopT),
      fmtMs(reader.ms),
      again.writes,
    ]);
  }
  console.log(
    table(
      [
        'run',
        'raw tc -batch',
        'in kernel',
        'reconcile',
        'of it: batch',
        'reads',
        'lines',
        'in kernel',
        'ratio',
        'no-op reconcile',
        'of it: reads',
        'no-op lines',
      ],
      rows,
    ),
  );
  const ratio = median(recMs) / median(rawMs);
  console.log(
    `\nmedian: raw ${fmtMs(median(rawMs))}, reconcile ${fmtMs(median(recMs))}, ratio ${ratio.toFixed(2)} ` +
      `(target ≤ 1.2: ${ratio <= 1.2 ? 'met' : 'MISSED'}); no-op reconcile of the 10k device ${fmtMs(median(noopMs))}\n`,
  );
  console.log('step by step, on the installed 10k device (last run):');
  console.log(table(['step', 'time', ''], breakdownRows));
  console.log('');
}

// ---------------------------------------------------------------------------------------------
// (b) and (c): 100 devices

async function partBC(): Promise<void> {
  console.log('== (b) 100 devices: install, then a no-op reconcile; (c) one pod label change\n');
  const synth = synthesize(LAB_100_DEVICES);
  let t = performance.now();
  const built = build(synth.objects);
  const pipeline = compile(built, synth.node);
  const compileMs = performance.now() - t;
  const devices = pipeline.devices.map((d) => d.device);
  const counts = pipeline.devices.map(filterCount);
  const total = counts.reduce((a, b) => a + b, 0);
  console.log(
    `cluster: ${built.model.interfaces.length} managed interfaces, ${synth.objects.length} objects; node ${synth.node}: ` +
      `${devices.length} devices (${pipeline.devices.filter((d) => d.kind === 'vf').length} VFs + uplink), ` +
      `${total} IR filters (per device min ${Math.min(...counts)}, median ${median(counts)}, max ${Math.max(...counts)}); ` +
      `compiled in the guest in ${fmtMs(compileMs)}`,
  );
  await addVeths(devices);
  const runner = new TimedRunner();
  const reader = timedReader(runner);
  const rec = new Reconciler(runner, reader, ZONE);
  const rows: (string | number)[][] = [];
  const step = async (name: string, p: NodePipeline, full: boolean, extraMs = 0) => {
    runner.reset();
    reader.ms = 0;
    const s = performance.now();
    const rep = await rec.reconcile(p, { full });
    const ms = performance.now() - s;
    if (rep.failed.length > 0) throw new Error(`${name}: ${rep.outcomes.map((o) => o.error).join('; ')}`);
    const written = rep.outcomes.filter((o) => o.writes > 0);
    rows.push([
      name,
      rep.read,
      written.length,
      rep.writes,
      runner.processes,
      extraMs > 0 ? fmtMs(extraMs) : '-',
      fmtMs(ms),
      fmtMs(reader.ms),
      fmtMs(runner.batchMs),
      fmtMs(ms - reader.ms - runner.batchMs),
      fmtMs(ms + extraMs),
    ]);
    return { written: written.map((o) => o.device), read: rep.read };
  };
  await step('(b) first reconcile (install)', pipeline, true);
  await step('(b) second reconcile (no change, full)', pipeline, true);

  // (c) one local pod changes its app label.
  const [podKey, index] =
    [...synth.localPods.entries()].find(([k]) => k.includes('/api-')) ?? [...synth.localPods.entries()][0]!;
  t = performance.now();
  const changed = build(withLabelChange(synth.objects, index, 'search'));
  const next = compile(changed, synth.node);
  const recompileMs = performance.now() - t;
  const before = new Map(pipeline.devices.map((d) => [d.device, d]));
  const differ = next.devices.filter((d) => !before.has(d.device) || !samePipeline(before.get(d.device)!, d));
  const { written } = await step(`(c) label change of ${podKey}`, next, false, recompileMs);
  const { read: noopRead } = await step('(c) reconcile again (no change)', next, false);
  await step('(c) periodic resync (full)', next, true);
  console.log(
    table(
      [
        'step',
        'devices read',
        'devices written',
        'tc lines',
        'processes',
        'recompile',
        'reconcile',
        'of it: reads',
        'writes',
        'parse+plan',
        'change -> kernel',
      ],
      rows,
    ),
  );
  const diff = diffPipelines(pipeline, next);
  console.log(
    `\n(c) devices whose pipeline changed: ${differ.length}; devices written (${written.length}): ${written.join(', ')}\n` +
      `    filters that actually differ (added + removed) on them: ${diff.differ}; lines written: ${rows[2]![3]}\n` +
      `    no-op reconcile after the change: ${noopRead} device(s) read ` +
      `(target ≤ ${differ.length}, the devices whose pipeline changed: ${noopRead <= differ.length ? 'met' : 'MISSED'})`,
  );
  await delVeths(devices);
}

async function main(): Promise<void> {
  if (process.env.KERNEL_LAB !== '1') {
    console.error('run inside the QEMU lab: bash bench/lab-apply.sh');
    process.exitCode = 2;
    return;
  }
  const parts = process.argv.slice(2);
  const want = (p: string) => parts.length === 0 || parts.includes(p);
  const cpus = (await sh('nproc')).trim();
  const kernel = (await sh('uname -r')).trim();
  console.log(
    `lab: kernel ${kernel}, ${cpus} vCPUs (QEMU; TCG unless KVM is available), ${new Date().toISOString()}\n`,
  );
  if (want('a')) await partA(Number(process.env.BENCH_REPS ?? 3));
  if (want('b')) await partBC();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
