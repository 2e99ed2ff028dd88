// `explain --matrix` narrowed with --from-namespace/--to-namespace, and written row by row: on a
// small synthetic cluster (bench/synthetic.ts, several namespaces), the narrowed table must be
// the full table's rows and columns for those namespaces, through the functions and the CLI.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'mocha';
import { writeSyntheticManifests } from '../../../bench/write-manifests.js';
import { explainMatrix, matrixRows, UsageError } from '../../../src/cli/explain.js';
import { FLUSH, writePieces } from '../../../src/cli/write-json.js';
import { loadModel, type Loaded } from '../../../src/cli/load.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';
import { ClusterSimulator } from '../../../src/tc/simulate/trace.js';

const run = promisify(execFile);
const NET = 'sriov/accel-a';
const ARGS = { protocol: 'TCP' as const, port: 8080, network: NET };

let dir: string;
let loaded: Loaded;
let full: Record<string, Record<string, 'allow' | 'deny'>>;

const inNs = (key: string, ns: string[]) => ns.includes(key.slice(0, key.indexOf('/')));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mnp-matrix-'));
  await writeSyntheticManifests(dir, { pods: 120, policies: 12, format: 'yaml' });
  loaded = await loadModel(dir, ['accelerated-bridge'], true);
  full = explainMatrix(loaded.snapshot, loaded.model, DEFAULT_COMPILE_OPTIONS, ARGS).matrix;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = async (...args: string[]) =>
  (
    await run(process.execPath, [
      'build/src/cli/main.js',
      'explain',
      '--manifests',
      dir,
      '--matrix',
      '--network',
      NET,
      '--port',
      '8080',
      ...args,
    ])
  ).stdout;

describe('explain --matrix: --from-namespace and --to-namespace', () => {
  it('gives the full table restricted to the rows and columns of those namespaces', () => {
    const from = ['ns-01'];
    const to = ['ns-02', 'ns-03'];
    const { plan, rows } = matrixRows(loaded.snapshot, loaded.model, DEFAULT_COMPILE_OPTIONS, {
      ...ARGS,
      fromNamespaces: from,
      toNamespaces: to,
    });
    const expectedRows = Object.keys(full).filter((k) => inNs(k, from));
    expect(plan.rows).to.deep.equal(expectedRows);
    expect(plan.columns).to.deep.equal(Object.keys(full).filter((k) => inNs(k, to)));
    expect(plan.rows.length).to.be.greaterThan(0);
    expect(plan.columns.length).to.be.greaterThan(2);
    const got = [...rows];
    expect(got.map((r) => r.source)).to.deep.equal(expectedRows);
    let allowed = 0;
    for (const r of got) {
      const want = Object.fromEntries(Object.entries(full[r.source]!).filter(([d]) => inNs(d, to)));
      expect(r.cells, r.source).to.deep.equal(want);
      allowed += Object.values(r.cells).filter((v) => v === 'allow').length;
    }
    // Both verdicts occur, so the comparison means something.
    expect(allowed).to.be.greaterThan(0);
    expect(allowed).to.be.lessThan(got.reduce((n, r) => n + Object.keys(r.cells).length, 0));
  });

  it('takes repeated flags and comma lists alike; JSON is the restricted matrix', async () => {
    const a = await cli('--from-namespace', 'ns-01', '--to-namespace', 'ns-02', '--to-namespace', 'ns-03');
    const b = await cli('--from-namespace', 'ns-01', '--to-namespace', 'ns-02,ns-03');
    expect(a).to.equal(b);
    const lines = a.split('\n');
    expect(lines[0]).to.equal('columns:');
    const columns = Object.keys(full).filter((k) => inNs(k, ['ns-02', 'ns-03']));
    columns.forEach((c, j) => expect(lines[1 + j]).to.equal(`  ${j} ${c}`));
    const json = JSON.parse(
      await cli('--from-namespace', 'ns-01', '--to-namespace', 'ns-02,ns-03', '--format', 'json'),
    ) as {
      matrix: Record<string, Record<string, string>>;
    };
    const want = Object.fromEntries(
      Object.entries(full)
        .filter(([s]) => inNs(s, ['ns-01']))
        .map(([s, row]) => [
          s,
          Object.fromEntries(Object.entries(row).filter(([d]) => inNs(d, ['ns-02', 'ns-03']))),
        ]),
    );
    expect(json.matrix).to.deep.equal(want);
  });

  it('refuses a namespace with no pod interface on the network (exit 2)', async () => {
    expect(() =>
      matrixRows(loaded.snapshot, loaded.model, DEFAULT_COMPILE_OPTIONS, {
        ...ARGS,
        fromNamespaces: ['nope'],
      }),
    ).to.throw(UsageError, /--from-namespace nope: no managed pod interface on sriov\/accel-a/);
    const e = (await cli('--to-namespace', 'nope').then(
      () => undefined,
      (x: unknown) => x,
    )) as { code: number; stderr: string } | undefined;
    expect(e?.code).to.equal(2);
    expect(e?.stderr).to.match(/--to-namespace nope/);
  });
});

describe('explain --matrix: only the devices a cell crosses, uplinks reduced to the table', () => {
  // The reference: every pair traced through whole nodes compiled with compileNode.
  function reference(from: string[] | undefined, to: string[] | undefined) {
    const sim = new ClusterSimulator(loaded.snapshot, loaded.model, DEFAULT_COMPILE_OPTIONS);
    const ifaces = loaded.model.interfaces.filter((i) => i.network === NET);
    const pick = (ns: string[] | undefined) => ifaces.filter((i) => !ns || inNs(i.pod, ns));
    const out: Record<string, Record<string, 'allow' | 'deny'>> = {};
    for (const s of pick(from)) {
      const row: Record<string, 'allow' | 'deny'> = {};
      for (const d of pick(to)) {
        if (s.pod === d.pod) continue;
        const v4 = (i: typeof s) => i.ips.find((x) => !x.includes(':'));
        sim.resetConntrack();
        const t = sim.trace({ network: NET, srcIp: v4(s)!, dstIp: v4(d)!, protocol: 'TCP', port: 8080 });
        row[d.pod] = t.verdict === 'allow' && t.replyVerdict === 'allow' ? 'allow' : 'deny';
      }
      out[s.pod] = row;
    }
    return out;
  }

  // A budget of a few thousand filters holds less than one uplink here: devices are compiled
  // again and again (slow, so not for the whole network).
  for (const [label, from, to, budgets] of [
    ['the whole network', undefined, undefined, [undefined]],
    ['narrowed both ways', ['ns-01'], ['ns-02', 'ns-03'], [undefined, 2000]],
    ['narrowed to columns', undefined, ['ns-03'], [undefined, 2000]],
    ['narrowed to rows', ['ns-00', 'ns-02'], undefined, [undefined]],
  ] as const) {
    it(`gives the cells of whole compiled nodes: ${label}, with room for every device${budgets.length > 1 ? ' or for a few' : ''}`, () => {
      const want = reference(from && [...from], to && [...to]);
      for (const heldFilters of budgets) {
        const { rows } = matrixRows(
          loaded.snapshot,
          loaded.model,
          DEFAULT_COMPILE_OPTIONS,
          { ...ARGS, ...(from ? { fromNamespaces: from } : {}), ...(to ? { toNamespaces: to } : {}) },
          [],
          heldFilters === undefined ? {} : { heldFilters },
        );
        const got = Object.fromEntries([...rows].map((r) => [r.source, r.cells]));
        expect(got, `held ${heldFilters}`).to.deep.equal(want);
      }
      const cells = Object.values(want).flatMap((r) => Object.values(r));
      expect(cells.filter((v) => v === 'allow').length).to.be.greaterThan(0);
      expect(cells.filter((v) => v === 'deny').length).to.be.greaterThan(0);
    });
  }
});

describe('writePieces', () => {
  it('writes what is pending at each FLUSH, before the next piece is computed', async () => {
    const writes: string[] = [];
    const out = { write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WritableStream;
    function* pieces() {
      yield 'header\n';
      yield FLUSH;
      // The first row is out before the second is computed.
      expect(writes).to.deep.equal(['header\n']);
      yield 'row 1\n';
      yield FLUSH;
      expect(writes).to.deep.equal(['header\n', 'row 1\n']);
      yield 'row 2\n';
    }
    await writePieces(out, pieces());
    expect(writes).to.deep.equal(['header\n', 'row 1\n', 'row 2\n']);
  });
});
