// The CLI at scale, as a user runs it: time and peak RSS of `render`, `render --format json` and
// `explain --matrix` on synthetic.ts's cluster written as a manifests directory (YAML and JSON),
// each command a child process of the built CLI; side by side with another build when given.
//
//   make build && node build/bench/cli-scale.js [--other DIR] [--pods 5000] [--policies 500]
//     [--matrix-seconds 120]   (the narrowed matrix gets five times as long)
//     [--only render|matrix]   (only those scenarios)
//
// DIR is the `build` directory of another checkout (e.g. a git worktree of main). Peak RSS is
// /usr/bin/time's %M (the child's maximum resident set), or /proc's VmHWM for a run stopped at its
// time limit. The unnarrowed `--from-namespace` matrix cannot finish at 5,000 pods (5,000 columns
// per row); it runs for --matrix-seconds and reports when its first row came and how many followed,
// as does the whole network's.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './cluster.js';
import { writeSyntheticManifests } from './write-manifests.js';

const TIME = '/usr/bin/time';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Measured {
  seconds: number;
  /** Peak RSS in MiB, when known. */
  rssMiB?: number;
  /** sha256 of stdout. */
  digest: string;
  exit: number | null;
  /** Seconds until the first table row, for matrices. */
  firstRow?: number;
  rows?: number;
  stopped?: boolean;
}

function peakFromProc(pid: number | undefined): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One run of `node main.js args`; stopped after `limitS` seconds if given. */
function measure(main: string, args: string[], limitS?: number): Promise<Measured> {
  const useTime = existsSync(TIME) && limitS === undefined;
  const timeFile = join(tmpdir(), `cli-scale-time-${process.pid}`);
  const cmd = useTime ? TIME : process.execPath;
  const argv = useTime ? ['-f', '%e %M', '-o', timeFile, process.execPath, main, ...args] : [main, ...args];
  const t0 = performance.now();
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
  const hash = createHash('sha256');
  let firstRow: number | undefined;
  let rows = 0;
  let afterHeader = false;
  let tail = '';
  let peak: number | undefined;
  let stopped = false;
  child.stdout.on('data', (b: Buffer) => {
    hash.update(b);
    if (limitS === undefined) return;
    // Text matrix: rows follow the "from \ to" header line.
    const lines = (tail + b.toString('utf8')).split('\n');
    tail = lines.pop()!;
    for (const l of lines) {
      if (afterHeader && !l.startsWith('(')) {
        rows++;
        firstRow ??= (performance.now() - t0) / 1000;
      }
      if (l.startsWith('from \\ to')) afterHeader = true;
    }
  });
  const poll =
    limitS === undefined
      ? undefined
      : setInterval(() => {
          peak = peakFromProc(child.pid) ?? peak;
          if (performance.now() - t0 > limitS * 1000 && !stopped) {
            stopped = true;
            child.kill('SIGTERM');
          }
        }, 200);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      let seconds = (performance.now() - t0) / 1000;
      let rssMiB = peak;
      if (useTime) {
        const [e, m] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ');
        seconds = Number(e);
        rssMiB = Number(m) / 1024;
      }
      resolve({
        seconds,
        digest: hash.digest('hex'),
        exit: code,
        stopped,
        ...(rssMiB !== undefined ? { rssMiB } : {}),
        ...(firstRow !== undefined ? { firstRow, rows } : limitS !== undefined ? { rows } : {}),
      });
    });
  });
}

function cellText(m: Measured | undefined): string {
  if (!m) return '-';
  const rss = m.rssMiB !== undefined ? `${m.rssMiB.toFixed(0)} MiB` : '? MiB';
  const exit = m.exit === 0 || m.stopped ? '' : ` exit ${m.exit}`;
  // Rows per minute over the whole run: the first row's wait included.
  const rate = m.rows ? `, ${((60 * m.rows) / m.seconds).toFixed(1)} rows/min` : '';
  if (m.stopped)
    return `stopped at ${m.seconds.toFixed(0)} s, ${rss}, ${m.firstRow !== undefined ? `first row ${m.firstRow.toFixed(1)} s` : 'no row yet'}, ${m.rows} rows${rate}`;
  const first =
    m.firstRow !== undefined ? `, first row ${m.firstRow.toFixed(1)} s, ${m.rows} rows${rate}` : '';
  return `${m.seconds.toFixed(2)} s, ${rss}${exit}${first}`;
}

async function main(): Promise<void> {
  const pods = Number(flag('--pods') ?? 5000);
  const policies = Number(flag('--policies') ?? 500);
  const matrixSeconds = Number(flag('--matrix-seconds') ?? 120);
  const other = flag('--other');
  const self = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const builds: [string, string][] = [
    ...(other ? [['other', join(other, 'src', 'cli', 'main.js')] as [string, string]] : []),
    ['this build', self],
  ];
  const dir = await mkdtemp(join(tmpdir(), 'mnp-cli-scale-'));
  try {
    for (const format of ['yaml', 'json'] as const)
      await writeSyntheticManifests(join(dir, format), { pods, policies, format });
    const node = 'node-000';
    const scenarios: { name: string; args: string[]; limit?: number }[] = [];
    for (const format of ['yaml', 'json'] as const) {
      const m = join(dir, format);
      scenarios.push(
        { name: `render (${format} dir)`, args: ['render', '--manifests', m, '--hostname-override', node] },
        {
          name: `render --format json (${format} dir)`,
          args: ['render', '--manifests', m, '--hostname-override', node, '--format', 'json'],
        },
      );
    }
    const matrix = (extra: string[]) => [
      'explain',
      '--manifests',
      join(dir, 'json'),
      '--matrix',
      '--network',
      'sriov/accel-a',
      '--port',
      '8080',
      ...extra,
    ];
    scenarios.push(
      {
        name: 'explain --matrix --from-namespace ns-00 --to-namespace ns-01 (json dir)',
        args: matrix(['--from-namespace', 'ns-00', '--to-namespace', 'ns-01']),
        limit: matrixSeconds * 5,
      },
      {
        name: 'explain --matrix --from-namespace ns-00 (json dir)',
        args: matrix(['--from-namespace', 'ns-00']),
        limit: matrixSeconds,
      },
      { name: 'explain --matrix, whole network (json dir)', args: matrix([]), limit: matrixSeconds },
    );
    const only = flag('--only');
    if (only !== undefined && only !== 'render' && only !== 'matrix')
      throw new Error(`--only ${only}: expected render or matrix`);
    const chosen =
      only === undefined
        ? scenarios
        : scenarios.filter((s) => s.name.startsWith(only === 'matrix' ? 'explain' : 'render'));
    console.log(
      `== CLI at scale: ${pods} pods x ${policies} policies; load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} at the start\n`,
    );
    const rows: string[][] = [];
    for (const s of chosen) {
      const results = new Map<string, Measured>();
      // The old build may not know a flag: its run then fails quickly (its exit is shown).
      for (const [label, main] of builds) results.set(label, await measure(main, s.args, s.limit));
      const all = [...results.values()];
      const comparable = all.every((r) => r.exit === 0 && !r.stopped);
      const digests = new Set(all.map((r) => r.digest));
      rows.push([
        s.name,
        ...builds.map(([label]) => cellText(results.get(label))),
        ...(builds.length > 1 ? [!comparable ? '-' : digests.size === 1 ? 'yes' : 'NO'] : []),
      ]);
    }
    console.log(
      table(['scenario', ...builds.map(([l]) => l), ...(builds.length > 1 ? ['same output'] : [])], rows),
    );
    console.log(
      `load average at the end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
