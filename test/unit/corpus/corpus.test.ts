// Runs the bad-input corpus (test/corpus): for every input, `show`, `render` (every node) and
// `explain --matrix` (every managed network) in-process, then a sample through the real CLI.
// Each input must: not throw (the CLI would print a stack trace), finish in bounded time, be
// reported by a problem that names the file, the object and the field, and widen nothing: every
// flow the base cluster denies is still denied, by the reference verdict (many protocols and
// ports, both families) and by the simulated pipeline (explain --matrix).

import { expect } from 'chai';
import { execa } from 'execa';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'mocha';
import { explainMatrix } from '../../../src/cli/explain.js';
import { loadModel, type Loaded } from '../../../src/cli/load.js';
import { renderShow } from '../../../src/cli/show.js';
import { formatProblem, type Problem } from '../../../src/cluster/problem.js';
import type { L4Protocol } from '../../../src/policy/types.js';
import { verdict } from '../../../src/policy/verdict.js';
import { compileNode } from '../../../src/tc/compile/node.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { renderNodeJson } from '../../../src/tc/render/render-json.js';
import { renderNodeTc } from '../../../src/tc/render/render-tc.js';
import { generatedDefects, handDefects, type Defect } from '../../corpus/defects.js';

// build/test/unit/corpus -> repository root
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const BASE = join(root, 'examples', 'manifests');
const HAND = join(root, 'test', 'corpus', 'hand');
const CLI = join(root, 'build', 'src', 'cli', 'main.js');
const PLUGINS = ['accelerated-bridge'];
const OPTS = DEFAULT_COMPILE_OPTIONS;
const NODES = ['worker-1', 'worker-2'];
/** Per input, the three commands together (in-process); inputs with 100k-element lists get more. */
const TIME_LIMIT_MS = 20_000;
const HUGE_TIME_LIMIT_MS = 90_000;

const PROBES: { protocol: L4Protocol; port?: number }[] = [
  { protocol: 'TCP', port: 80 },
  { protocol: 'TCP', port: 443 },
  { protocol: 'TCP', port: 5432 },
  { protocol: 'TCP', port: 8080 },
  { protocol: 'TCP', port: 9999 },
  { protocol: 'UDP', port: 53 },
  { protocol: 'UDP', port: 5005 },
  { protocol: 'SCTP', port: 8080 },
  { protocol: 'ICMP' },
];

/** What the three commands give for a directory. */
interface Run {
  loaded: Loaded;
  problems: Problem[];
  matrices: Map<string, Record<string, Record<string, 'allow' | 'deny'>>>;
  ms: number;
}

function networksOf(l: Loaded): string[] {
  return [...new Set(l.model.interfaces.map((i) => i.network))].sort();
}

async function runCommands(dir: string, extraNode?: string): Promise<Run> {
  const t0 = performance.now();
  const loaded = await loadModel(dir, PLUGINS, true);
  renderShow(loaded.model);
  for (const node of [...NODES, ...(extraNode ? [extraNode] : [])]) {
    const pipeline = compileNode(loaded.model, node, loaded.snapshot.nodes.get(node), OPTS);
    renderNodeTc(pipeline, OPTS.ctZone);
    renderNodeJson(pipeline, OPTS.ctZone);
  }
  const matrices = new Map<string, Record<string, Record<string, 'allow' | 'deny'>>>();
  for (const network of networksOf(loaded)) {
    matrices.set(
      network,
      explainMatrix(loaded.snapshot, loaded.model, OPTS, { protocol: 'TCP', port: 8080, network }).matrix,
    );
  }
  return { loaded, problems: loaded.model.problems, matrices, ms: performance.now() - t0 };
}

/** Flows between the base cluster's pod interfaces that the base denies. */
interface Flow {
  network: string;
  srcIp: string;
  dstIp: string;
  protocol: L4Protocol;
  port?: number;
}

function deniedFlows(base: Loaded): Flow[] {
  const out: Flow[] = [];
  for (const s of base.model.interfaces) {
    for (const d of base.model.interfaces) {
      if (s.pod === d.pod || s.network !== d.network) continue;
      for (const srcIp of s.ips) {
        for (const dstIp of d.ips) {
          if (srcIp.includes(':') !== dstIp.includes(':')) continue;
          for (const p of PROBES) {
            const flow: Flow = { network: s.network, srcIp, dstIp, ...p };
            if (verdict(base.model, flow).verdict === 'deny') out.push(flow);
          }
        }
      }
    }
  }
  return out;
}

async function caseDir(d: Defect): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corpus-'));
  for (const f of await readdir(BASE)) if (f.endsWith('.yaml')) await copyFile(join(BASE, f), join(dir, f));
  for (const [name, content] of Object.entries(d.files ?? {})) await writeFile(join(dir, name), content);
  await d.setup?.(dir);
  return dir;
}

function names(p: Problem, d: NonNullable<Defect['expect']>): boolean {
  const where = `${p.source ?? ''} ${p.object}`;
  if (!where.includes(d.file)) return false;
  if (d.object !== undefined && !p.object.startsWith(d.object)) return false;
  if (d.field !== undefined) {
    if (p.path === '' && d.field !== '') return false;
    if (!p.path.startsWith(d.field) && !d.field.startsWith(p.path)) return false;
  }
  return true;
}

async function allDefects(): Promise<Defect[]> {
  const hand: Record<string, string> = {};
  for (const f of (await readdir(HAND)).sort()) hand[f] = await readFile(join(HAND, f), 'utf8');
  return [...generatedDefects(), ...handDefects(hand)];
}

const defects = await allDefects();

describe('bad-input corpus', function () {
  this.timeout(300_000);
  let base: Run;
  let denied: Flow[];
  const figures = { inputs: 0, flows: 0, widenings: 0, slowestMs: 0, slowest: '' };

  before(async () => {
    base = await runCommands(BASE);
    denied = deniedFlows(base.loaded);
  });

  after(() => {
    console.log(
      `      corpus: ${figures.inputs} inputs, ${figures.flows} denied flows re-checked, ` +
        `${figures.widenings} widenings, slowest ${figures.slowestMs.toFixed(0)} ms (${figures.slowest})`,
    );
  });

  it('has at least 150 inputs, each with a unique id', () => {
    expect(defects.length).to.be.at.least(150);
    expect(new Set(defects.map((d) => d.id)).size).to.equal(defects.length);
  });

  it('the base cluster loads without errors and denies flows the check can watch', () => {
    expect(base.problems.filter((p) => p.severity === 'error')).to.deep.equal([]);
    expect(denied.length).to.be.greaterThan(100);
  });

  for (const d of defects) {
    it(d.id, async () => {
      const dir = await caseDir(d);
      try {
        const run = await runCommands(dir, d.node);
        figures.inputs++;
        if (run.ms > figures.slowestMs) Object.assign(figures, { slowestMs: run.ms, slowest: d.id });
        const limit = d.category === 'huge' ? HUGE_TIME_LIMIT_MS : TIME_LIMIT_MS;
        expect(run.ms, 'time of show + render + explain --matrix').to.be.lessThan(limit);

        const text = run.problems.map(formatProblem);
        if (d.expect) {
          const e = d.expect;
          expect(
            run.problems.some((p) => names(p, e)),
            `a problem naming ${e.file}, ${e.object ?? ''} ${e.field ?? ''}; got:\n${text.join('\n')}`,
          ).to.equal(true);
        } else {
          expect(run.problems.filter((p) => `${p.source} ${p.object}`.includes('zz-'))).to.deep.equal([]);
        }

        // No widening, by the reference semantics.
        const widened: string[] = [];
        for (const f of denied) {
          if (verdict(run.loaded.model, f).verdict === 'allow')
            widened.push(`${f.network} ${f.srcIp} -> ${f.dstIp} ${f.protocol} ${f.port ?? ''}`);
        }
        figures.flows += denied.length;
        // No widening, by the compiled pipeline (explain --matrix, TCP 8080).
        for (const [network, matrix] of base.matrices) {
          const now = run.matrices.get(network) ?? {};
          for (const [src, row] of Object.entries(matrix)) {
            for (const [dst, v] of Object.entries(row)) {
              if (v === 'deny' && now[src]?.[dst] === 'allow')
                widened.push(`pipeline ${network} ${src} -> ${dst}`);
            }
          }
        }
        figures.widenings += widened.length;
        expect(widened, 'flows the base cluster denies').to.deep.equal([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('bad-input corpus through the real CLI', function () {
  this.timeout(300_000);
  const sample = defects.filter((d) =>
    [
      'file: zz-alias-bomb.yaml',
      'file: FIFO named zz-fifo.yaml',
      'policy apiVersion=(deleted)',
      'pod network-status representor with a newline',
    ].includes(d.id),
  );

  it('the sample is the four inputs it names', () => {
    expect(sample).to.have.length(4);
  });

  for (const d of sample) {
    it(`${d.id}: show, render and explain --matrix exit 0, name the file, print no stack trace`, async () => {
      const dir = await caseDir(d);
      try {
        const commands = [
          ['show', '--manifests', dir],
          ['render', '--manifests', dir, '--hostname-override', 'worker-1'],
          ['explain', '--manifests', dir, '--matrix', '--network', 'app/accel-net', '--port', '8080'],
        ];
        for (const args of commands) {
          const r = await execa('node', [CLI, ...args], { reject: false, timeout: 60_000 });
          expect(r.exitCode, `${args[0]}: ${r.stderr}`).to.equal(0);
          expect(r.stderr).to.not.match(/^\s+at /m);
          if (args[0] !== 'explain') expect(r.stderr).to.contain(d.expect!.file);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('a --manifests path that is missing or a file: exit 2, one line, no stack trace', async () => {
    for (const path of [join(root, 'no-such-dir'), join(root, 'README.md')]) {
      const r = await execa('node', [CLI, 'show', '--manifests', path], { reject: false });
      expect(r.exitCode).to.equal(2);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.contain(path);
    }
  });

  it('render | head -c 600 exits quietly (EPIPE)', async () => {
    const r = await execa(
      'bash',
      [
        '-c',
        `node ${CLI} render --manifests ${BASE} --hostname-override worker-1 | head -c 600 >/dev/null; echo "\${PIPESTATUS[0]}"`,
      ],
      { reject: false },
    );
    expect(r.stdout.trim()).to.equal('0');
    expect(r.stderr).to.equal('');
  });

  it('run --once with a missing tc says "not found", exits 1, no stack trace', async () => {
    const r = await execa(
      'node',
      [
        CLI,
        'run',
        '--once',
        '--manifests',
        BASE,
        '--hostname-override',
        'worker-1',
        '--tc',
        join(root, 'no-such-tc'),
      ],
      { reject: false, timeout: 60_000 },
    );
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/no-such-tc not found/);
    expect(r.stderr).to.not.match(/^\s+at /m);
  });
});
