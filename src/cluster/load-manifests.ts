// Reads a directory of manifests (the agent's offline mode and the examples): every .yaml, .yml and
// .json file below it, multi-document YAML, "kind: List" expanded. A broken document is a Problem
// that names its file and document number; the rest of the directory still loads.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildSnapshot, type SourcedObject } from './build-snapshot.js';
import { EFFECT } from './effects.js';
import type { Problem } from './problem.js';
import { asRecord } from './read-fields.js';
import type { ClusterSnapshot } from './snapshot.js';
import { KNOWN_KINDS } from './validate-object.js';

export interface LoadedManifests {
  objects: SourcedObject[];
  /** Documents that could not be read (syntax errors, unknown kinds). */
  errors: Problem[];
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Manifest files below `dir`, sorted by path so every run sees them in the same order. */
async function manifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await manifestFiles(path)));
    else if (MANIFEST_FILE.test(entry.name)) out.push(path);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One document (or List item): kept if it is an object of a kind the agent reads. */
function readDocument(value: unknown, where: string, source: string, out: LoadedManifests): void {
  const error = (message: string): void => {
    out.errors.push({
      severity: 'error',
      object: where,
      path: '',
      message,
      effect: EFFECT.documentIgnored,
      source,
    });
  };
  const obj = asRecord(value);
  if (!obj) return error(`is not an object, got ${Array.isArray(value) ? 'a list' : typeof value}`);
  const kind = obj.kind;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(obj.items)) {
    obj.items.forEach((item: unknown, i) =>
      readDocument(item, `${where} items[${i}]`, `${source}.items[${i}]`, out),
    );
    return;
  }
  if (typeof kind !== 'string') return error('has no kind');
  if (!KNOWN_KINDS.includes(kind)) return error(`unknown kind "${kind}"`);
  out.objects.push({ obj, source });
}

function readFileText(file: string, text: string, out: LoadedManifests): void {
  parseAllDocuments(text).forEach((doc, i) => {
    const n = i + 1;
    const where = `${file} document ${n}`;
    const source = `${file}#${n}`;
    const firstError = doc.errors[0];
    if (firstError) {
      const message = `YAML syntax error: ${firstError.message.split('\n')[0]?.replace(/:$/, '')}`;
      out.errors.push({
        severity: 'error',
        object: where,
        path: '',
        message,
        effect: EFFECT.documentIgnored,
        source,
      });
      return;
    }
    const value: unknown = doc.toJS();
    // Empty documents (a trailing "---", comments only) are allowed.
    if (value === null || value === undefined) return;
    readDocument(value, where, source, out);
  });
}

// What each file gave when it was last read. The agent reloads the directory on every change; an
// unchanged file gives the same objects, which the snapshot builder and the incremental model
// update recognise by identity (a re-parse would make every change a full re-read).
const lastReadings = new Map<string, { text: string; reading: LoadedManifests }>();

function readFileOnce(file: string, text: string): LoadedManifests {
  const hit = lastReadings.get(file);
  if (hit && hit.text === text) return hit.reading;
  const reading: LoadedManifests = { objects: [], errors: [] };
  readFileText(file, text, reading);
  lastReadings.set(file, { text, reading });
  return reading;
}

/** Loads every manifest below `dir`. Throws only when `dir` itself cannot be read. */
export async function loadManifestsDir(dir: string): Promise<LoadedManifests> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new Error(`manifests directory ${dir} does not exist`);
  if (!info.isDirectory()) throw new Error(`manifests path ${dir} is not a directory`);
  const out: LoadedManifests = { objects: [], errors: [] };
  const files = await manifestFiles(dir);
  // Files gone from the directory are forgotten.
  const present = new Set(files);
  for (const file of lastReadings.keys()) {
    if (file.startsWith(join(dir, sep)) && !present.has(file)) lastReadings.delete(file);
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const message = `cannot be read: ${(e as Error).message}`;
      out.errors.push({
        severity: 'error',
        object: file,
        path: '',
        message,
        effect: EFFECT.fileIgnored,
        source: file,
      });
      continue;
    }
    const reading = readFileOnce(file, text);
    out.objects.push(...reading.objects);
    out.errors.push(...reading.errors);
  }
  return out;
}

/** Loads a manifests directory into a snapshot; unreadable documents are among its problems. */
export async function loadSnapshotFromDir(dir: string): Promise<ClusterSnapshot> {
  const { objects, errors } = await loadManifestsDir(dir);
  const s = buildSnapshot(objects);
  // A new snapshot object (the builder keeps the one it returned, to patch the next build), with
  // the fields in the builder's order (one object shape for every snapshot).
  return {
    policies: s.policies,
    namespaces: s.namespaces,
    pods: s.pods,
    networks: s.networks,
    nodes: s.nodes,
    problems: [...errors, ...s.problems],
    raw: s.raw,
  };
}
