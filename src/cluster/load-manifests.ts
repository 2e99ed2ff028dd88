// Reads a directory of manifests (the agent's offline mode and the examples): every .yaml, .yml and
// .json file below it, multi-document YAML, "kind: List" expanded. A broken document is a Problem
// that names its file and document number; the rest of the directory still loads.
//
// Only regular files are read (a FIFO named *.yaml would block the reader forever), through a
// symlink too; symlinked directories and hidden entries (".name", such as the "..data" of a
// mounted ConfigMap) are not followed. A file too large, a YAML alias bomb or nesting deep enough to
// exhaust the parser is that file's problem only. A file that is one plain JSON document skips the
// YAML reader (json-document.ts).

import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SnapshotBuilder, type SourcedObject } from './build-snapshot.js';
import { EFFECT } from './effects.js';
import { parseJsonDocument } from './json-document.js';
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

/** Larger manifest files are not read (a whole cluster's manifests are a few MB). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Aliases allowed per YAML document (the yaml library's default): more is an alias bomb. */
const MAX_ALIAS_COUNT = 100;

/** The manifests path is missing or not a directory: a usage error, not a problem of the cluster. */
export class ManifestsPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestsPathError';
  }
}

function fileProblem(file: string, message: string): Problem {
  return { severity: 'error', object: file, path: '', message, effect: EFFECT.fileIgnored, source: file };
}

/** Manifest files below `dir`, sorted by path so every run sees them in the same order. */
async function manifestFiles(dir: string, errors: Problem[]): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    errors.push(fileProblem(dir, `directory cannot be read: ${(e as Error).message}`));
    return out;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await manifestFiles(path, errors)));
    else if (!MANIFEST_FILE.test(entry.name)) continue;
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
    else errors.push(fileProblem(path, 'is not a regular file (a FIFO, socket or device)'));
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The text of a regular file. Opened without blocking and checked after opening, so a FIFO (or a
 * file swapped for one since the listing) is refused instead of waited on.
 */
async function readRegularFile(file: string): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error('is not a regular file');
    if (info.size > MAX_MANIFEST_BYTES)
      throw new Error(`is ${info.size} bytes, more than the ${MAX_MANIFEST_BYTES} read`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
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
  try {
    readDocuments(file, text, out);
  } catch (e) {
    // Nesting deep enough to exhaust the stack: the whole file, as its documents cannot be told apart.
    out.objects.length = 0;
    out.errors.length = 0;
    const reason = e instanceof RangeError ? 'nesting too deep to read' : (e as Error).message;
    out.errors.push(fileProblem(file, `cannot be parsed: ${reason}`));
  }
}

function readDocuments(file: string, text: string, out: LoadedManifests): void {
  // One plain JSON document (a .json file, or YAML written as JSON) needs no YAML reader.
  const json = parseJsonDocument(text);
  if (json) {
    if (json.value !== null) readDocument(json.value, `${file} document 1`, `${file}#1`, out);
    return;
  }
  parseAllDocuments(text).forEach((doc, i) => {
    const n = i + 1;
    const where = `${file} document ${n}`;
    const source = `${file}#${n}`;
    const ignore = (message: string) =>
      out.errors.push({
        severity: 'error',
        object: where,
        path: '',
        message,
        effect: EFFECT.documentIgnored,
        source,
      });
    const firstError = doc.errors[0];
    if (firstError) {
      ignore(`YAML syntax error: ${firstError.message.split('\n')[0]?.replace(/:$/, '')}`);
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      ignore(
        e instanceof ReferenceError && /alias/i.test(e.message)
          ? `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} alias uses: an alias bomb?)`
          : `YAML cannot be read: ${(e as Error).message.split('\n')[0]}`,
      );
      return;
    }
    // Empty documents (a trailing "---", comments only) are allowed.
    if (value === null || value === undefined) return;
    readDocument(value, where, source, out);
  });
}

/** Throws a ManifestsPathError unless `dir` is a directory. */
export async function checkManifestsDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new ManifestsPathError(`--manifests ${dir}: no such directory`);
  if (!info.isDirectory()) throw new ManifestsPathError(`--manifests ${dir}: not a directory`);
}

/**
 * Loads a manifests directory again and again (the agent reloads it on every change), remembering
 * what each file gave: an unchanged file gives the same objects, which the snapshot builder and
 * the incremental model update recognise by identity (a re-parse would make every change a full
 * re-read). The agent's manifests source and the CLI each create one.
 */
export class ManifestsLoader {
  private readonly lastReadings = new Map<string, { text: string; reading: LoadedManifests }>();
  private readonly builder = new SnapshotBuilder();

  /** Loads every manifest below `dir`. Throws only when `dir` itself is not a directory. */
  async load(dir: string): Promise<LoadedManifests> {
    await checkManifestsDir(dir);
    const out: LoadedManifests = { objects: [], errors: [] };
    const files = await manifestFiles(dir, out.errors);
    // Files gone from the directory are forgotten.
    const present = new Set(files);
    for (const file of this.lastReadings.keys()) {
      if (file.startsWith(join(dir, sep)) && !present.has(file)) this.lastReadings.delete(file);
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readRegularFile(file);
      } catch (e) {
        out.errors.push(fileProblem(file, `cannot be read: ${(e as Error).message}`));
        continue;
      }
      const reading = this.readFileOnce(file, text);
      out.objects.push(...reading.objects);
      out.errors.push(...reading.errors);
    }
    return out;
  }

  /** Loads the directory into a snapshot; unreadable documents are among its problems. */
  async snapshot(dir: string): Promise<ClusterSnapshot> {
    const { objects, errors } = await this.load(dir);
    const s = this.builder.build(objects);
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
      objectSources: s.objectSources,
    };
  }

  private readFileOnce(file: string, text: string): LoadedManifests {
    const hit = this.lastReadings.get(file);
    if (hit && hit.text === text) return hit.reading;
    const reading: LoadedManifests = { objects: [], errors: [] };
    readFileText(file, text, reading);
    this.lastReadings.set(file, { text, reading });
    return reading;
  }
}

/** Loads every manifest below `dir` once. Throws only when `dir` itself is not a directory. */
export async function loadManifestsDir(dir: string): Promise<LoadedManifests> {
  return new ManifestsLoader().load(dir);
}

/** Loads a manifests directory once into a snapshot; unreadable documents are among its problems. */
export async function loadSnapshotFromDir(dir: string): Promise<ClusterSnapshot> {
  return new ManifestsLoader().snapshot(dir);
}
