// The lint rules that keep src/ layered (hack/eslint-layering.js): the pure checks, and a real
// ESLint run over a small tree with a backward import and a circle, so the rules are seen to fail.

import { expect } from 'chai';
import { ESLint, type Linter } from 'eslint';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import tseslint from 'typescript-eslint';

interface LayeringPlugin {
  LAYERS: string[];
  KNOWN_CYCLES: string[][];
  layerViolation(srcRoot: string, from: string, to: string): string | undefined;
  cyclesOf(graph: Map<string, string[]>): string[][];
  importGraph(srcRoot: string): Map<string, string[]>;
  default: NonNullable<Linter.Config['plugins']>[string];
}

const load = async () =>
  (await import(pathToFileURL(resolve('hack/eslint-layering.js')).href)) as LayeringPlugin;

describe('lint: src/ layering', () => {
  let plugin: LayeringPlugin;
  before(async () => {
    plugin = await load();
  });

  it('allows imports from the same or an earlier layer and refuses later ones', () => {
    const src = '/p/src';
    expect(plugin.layerViolation(src, '/p/src/tc/a.ts', '/p/src/policy/b.ts')).to.equal(undefined);
    expect(plugin.layerViolation(src, '/p/src/tc/a.ts', '/p/src/tc/apply/b.ts')).to.equal(undefined);
    expect(plugin.layerViolation(src, '/p/src/cluster/a.ts', '/p/src/util/b.ts')).to.equal(undefined);
    expect(plugin.layerViolation(src, '/p/src/cluster/a.ts', '/p/src/agent/b.ts')).to.match(
      /src\/cluster must not import from src\/agent/,
    );
    expect(plugin.layerViolation(src, '/p/src/util/a.ts', '/p/src/cluster/b.ts')).to.match(/must not import/);
    expect(plugin.layerViolation(src, '/p/src/newfolder/a.ts', '/p/src/util/b.ts')).to.match(
      /not a known layer/,
    );
  });

  it('finds circles and only circles', () => {
    const g = new Map<string, string[]>([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e2']],
      ['e2', []],
    ]);
    expect(plugin.cyclesOf(g)).to.deep.equal([['a', 'b', 'c']]);
  });

  it("this project's src/ has no circle beyond the known ones", () => {
    const src = resolve('src');
    const found = plugin
      .cyclesOf(plugin.importGraph(src))
      .map((c) => c.map((f) => f.slice(src.length + 1)).join(' '));
    expect(found).to.have.members(plugin.KNOWN_CYCLES.map((c) => c.join(' ')));
  });

  it('ESLint reports a backward import and a circle in a tree', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layering-'));
    try {
      const file = (rel: string, text: string) => {
        mkdirSync(join(dir, 'src', rel, '..'), { recursive: true });
        writeFileSync(join(dir, 'src', rel), text);
      };
      file('util/log.ts', 'export const log = 1;\n');
      file('cluster/a.ts', "import { b } from './b.js';\nexport const a = b;\n");
      file('cluster/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
      file('policy/p.ts', "import { log } from '../util/log.js';\nexport const p = log;\n");
      file('node/n.ts', "import { t } from '../tc/t.js';\nexport const n = t;\n");
      file('tc/t.ts', "import { p } from '../policy/p.js';\nexport const t = p;\n");
      const eslint = new ESLint({
        cwd: dir,
        overrideConfigFile: true,
        overrideConfig: [
          {
            files: ['src/**/*.ts'],
            languageOptions: { parser: tseslint.parser as Linter.Parser },
            plugins: { layering: plugin.default },
            rules: { 'layering/no-backward-import': 'error', 'layering/no-cycle': 'error' },
          },
        ],
      });
      const results = await eslint.lintFiles(['src/**/*.ts']);
      const messages = results.flatMap((r) =>
        r.messages.map((m) => `${r.filePath.slice(dir.length + 1)}: ${m.ruleId}: ${m.message}`),
      );
      expect(messages.filter((m) => m.includes('no-backward-import'))).to.deep.equal([
        'src/node/n.ts: layering/no-backward-import: src/node must not import from src/tc, which comes after it (util → cluster → policy → node → tc → agent → cli)',
      ]);
      const circles = messages.filter((m) => m.includes('layering/no-cycle: import circle'));
      expect(circles).to.have.length(2);
      for (const m of circles) expect(m).to.include('cluster/a.ts ⇄ cluster/b.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
