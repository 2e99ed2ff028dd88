// A local ESLint plugin that keeps the source folders layered (docs/architecture.md):
//
// - `layering/no-backward-import`: a file under src/ imports only from its own top folder or from
//   the folders before it in LAYERS. The data flows one way: cluster → policy → node → tc → agent
//   → cli, with util below them all.
// - `layering/no-cycle`: no circle of imports between the files of src/ (type-only imports
//   count: a circle of types is still a circle of concepts).
//
// Both read import specifiers with TypeScript's own pre-processor, the same one tsc uses to find
// a file's imports, so `import type`, `export ... from` and `import()` are all seen.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** The top folders of src/, lowest first. A folder may import from itself and those before it. */
export const LAYERS = ['util', 'cluster', 'policy', 'node', 'tc', 'agent', 'cli'];

/**
 * Circles that exist today and are scheduled to go: none since issue 18's step 2 split the
 * compiler. Each entry is the sorted list of a circle's files, relative to src/. The rule fails
 * when a listed circle no longer exists, so the list can only shrink.
 */
export const KNOWN_CYCLES = [];

/** The top folder of `file` under `srcRoot`, or undefined when the file is not under it. */
export function topFolder(srcRoot, file) {
  const rel = relative(srcRoot, file);
  if (rel.startsWith('..') || rel === '' || !rel.includes(sep)) return undefined;
  return rel.split(sep)[0];
}

/**
 * Why importing `to` from `from` breaks the layering, or undefined when it does not. Both are
 * absolute paths; files outside srcRoot are not judged.
 */
export function layerViolation(srcRoot, from, to) {
  const a = topFolder(srcRoot, from);
  const b = topFolder(srcRoot, to);
  if (a === undefined || b === undefined || a === b) return undefined;
  const ia = LAYERS.indexOf(a);
  const ib = LAYERS.indexOf(b);
  if (ia < 0) return `src/${a} is not a known layer: add it to LAYERS in hack/eslint-layering.js`;
  if (ib < 0) return `src/${b} is not a known layer: add it to LAYERS in hack/eslint-layering.js`;
  if (ib > ia) return `src/${a} must not import from src/${b}, which comes after it (${LAYERS.join(' → ')})`;
  return undefined;
}

/** The relative import specifiers of a TypeScript source text, resolved to .ts paths. */
export function importsOf(file, text) {
  const info = ts.preProcessFile(text, true, true);
  const out = [];
  for (const i of info.importedFiles) {
    if (!i.fileName.startsWith('.')) continue;
    out.push(resolve(dirname(file), i.fileName.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** Every .ts file under `dir`, sorted. */
function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The import graph of the files under `srcRoot`: file → the files of srcRoot it imports. */
export function importGraph(srcRoot) {
  const files = tsFiles(srcRoot);
  const known = new Set(files);
  const graph = new Map();
  for (const f of files)
    graph.set(
      f,
      importsOf(f, readFileSync(f, 'utf8')).filter((t) => known.has(t)),
    );
  return graph;
}

/** The circles of a graph: its strongly connected components of more than one file (Tarjan). */
export function cyclesOf(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** src/ of the project that `file` belongs to: the nearest ancestor folder named src. */
function srcRootOf(file) {
  const parts = resolve(file).split(sep);
  const i = parts.lastIndexOf('src');
  return i < 0 ? undefined : parts.slice(0, i + 1).join(sep);
}

// One graph per src/ folder and lint process (ESLint runs the rule once per file).
const cycleCache = new Map();

function cyclesUnder(srcRoot) {
  let found = cycleCache.get(srcRoot);
  if (!found) {
    const graph = importGraph(srcRoot);
    const cycles = cyclesOf(graph).map((c) => c.map((f) => relative(srcRoot, f).split(sep).join('/')));
    const key = (c) => c.join(' ');
    const known = new Set(KNOWN_CYCLES.map(key));
    const present = new Set(cycles.map(key));
    found = {
      byFile: new Map(),
      gone: KNOWN_CYCLES.filter((c) => !present.has(key(c))),
      // A circle that is gone is reported once, on the first file of src/ (its own files may be gone too).
      first: relative(srcRoot, [...graph.keys()][0] ?? '')
        .split(sep)
        .join('/'),
    };
    for (const c of cycles) {
      if (known.has(key(c))) continue;
      for (const f of c) found.byFile.set(f, c);
    }
    cycleCache.set(srcRoot, found);
  }
  return found;
}

const noBackwardImport = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ folders import only from their own layer or the layers before it' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const srcRoot = srcRootOf(file);
    if (!srcRoot || topFolder(srcRoot, file) === undefined) return {};
    const check = (node) => {
      const source = node.source;
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      if (!source.value.startsWith('.')) return;
      const target = resolve(dirname(file), source.value.replace(/\.js$/, '.ts'));
      const why = layerViolation(srcRoot, file, target);
      if (why) context.report({ node: source, message: why });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'no circle of imports between the files of src/' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const srcRoot = srcRootOf(file);
    if (!srcRoot || topFolder(srcRoot, file) === undefined) return {};
    return {
      Program(node) {
        const { byFile, gone, first } = cyclesUnder(srcRoot);
        const rel = relative(srcRoot, file).split(sep).join('/');
        const cycle = byFile.get(rel);
        if (cycle) context.report({ node, message: `import circle: ${cycle.join(' ⇄ ')}` });
        for (const c of rel === first ? gone : []) {
          context.report({
            node,
            message: `the known circle ${c.join(' ⇄ ')} is gone: remove it from KNOWN_CYCLES in hack/eslint-layering.js`,
          });
        }
      },
    };
  },
};

export default {
  meta: { name: 'layering' },
  rules: { 'no-backward-import': noBackwardImport, 'no-cycle': noCycle },
};
