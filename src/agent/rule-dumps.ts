// --pod-rules-path: one file per pod interface with the rules on its representor, laid out as
// upstream does (<dir>/<pod uid>/<network, "/" as "-">-<representor>.rules). Files are rewritten
// only when their bytes change; directories of pods that are gone are removed. Nothing is written
// outside <dir>; a dump that cannot be written is logged and counted, never fatal.

import { lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { log } from '../util/log.js';
import type { NodePipeline } from '../tc/ir.js';
import type { PolicyModel } from '../policy/types.js';
import { renderChainLines, renderEntryLine } from '../tc/render/render-tc.js';
import { FRESH_NUMBERING, numberingFrom } from '../tc/layout.js';

export function dumpFiles(
  pipeline: NodePipeline,
  model: PolicyModel,
  /** Per device, the absolute chain of each relative chain (Reconciler.numberingOf); fresh-install numbers when absent. */
  numberings: ReadonlyMap<string, readonly number[]>,
  ctZone: number,
  /** Per device, one offload line per filter (see offload-state.ts); omitted when unknown. */
  offload?: ReadonlyMap<string, readonly string[]>,
): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of pipeline.devices) {
    if (d.kind !== 'vf') continue;
    for (const key of d.interfaces) {
      const iface = model.byKey.get(key);
      if (!iface) continue;
      const known = numberings.get(d.device);
      const numbering = known ? numberingFrom(known) : FRESH_NUMBERING;
      const body = [
        `# ${iface.pod} ${iface.interface} on ${iface.network}, representor ${d.device}`,
        `qdisc: clsact`,
        `filters:`,
        ...(d.chains.length > 0
          ? [...renderChainLines(d, numbering, ctZone), renderEntryLine(d.device, numbering(0), 'add')]
          : []),
        ...(offload?.has(d.device) ? ['offload:', ...offload.get(d.device)!.map((l) => `  ${l}`)] : []),
      ].join('\n');
      files.set(`${iface.podInfo.uid}/${iface.network.replace('/', '-')}-${d.device}.rules`, body + '\n');
    }
  }
  return files;
}

/** What a writeDumps call did; failures are logged there, and never thrown. */
export interface DumpReport {
  written: number;
  unchanged: number;
  /** One message per file (or the directory) that could not be written or removed. */
  failed: string[];
}

// A pod uid (RFC 4122 in a real cluster) and a file name: one path component each, never "." or
// "..", never a separator, printable ASCII only.
const SAFE_PART = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$/;

/** Why `rel` is not "<uid>/<file>" with two safe components, or undefined when it is. */
export function unsafeDumpPath(rel: string): string | undefined {
  const parts = rel.split('/');
  if (parts.length !== 2) return 'the pod uid is missing or holds a "/"';
  const [uid, file] = parts as [string, string];
  if (uid === '') return 'the pod has no uid';
  if (!SAFE_PART.test(uid)) return `the pod uid ${JSON.stringify(uid)} is not a safe directory name`;
  if (!SAFE_PART.test(file)) return `the file name ${JSON.stringify(file)} is not safe`;
  return undefined;
}

/**
 * Writes the dump files under `root`, and only there: a name that could leave it is refused, and
 * so is a directory or file planted as a symlink. Every failure is logged and returned in the report; it never
 * fails the caller (the rules are already in the kernel when dumps are written).
 */
export async function writeDumps(root: string, files: Map<string, string>): Promise<DumpReport> {
  const report: DumpReport = { written: 0, unchanged: 0, failed: [] };
  const fail = (what: string, e: unknown): void => {
    const msg = `pod rule dump ${what}: ${e instanceof Error ? e.message : String(e)}`;
    report.failed.push(msg);
    log.error(msg);
  };
  const base = resolve(root);
  try {
    await mkdir(base, { recursive: true, mode: 0o700 });
  } catch (e) {
    fail(`directory ${root} cannot be created`, e);
    return report;
  }
  const safe = new Map<string, string>();
  for (const [rel, body] of files) {
    const why = unsafeDumpPath(rel);
    if (why) fail(`${JSON.stringify(rel)} not written`, why);
    else safe.set(rel, body);
  }
  for (const [rel, body] of safe) {
    const [uid, name] = rel.split('/') as [string, string];
    const dir = join(base, uid);
    const path = join(dir, name);
    try {
      if (!path.startsWith(base + sep)) throw new Error('outside the dump directory');
      await realDirectory(dir);
      const old = await readRegular(path);
      if (old === body) {
        report.unchanged++;
        continue;
      }
      await writeFile(path, body, { mode: 0o600 });
      report.written++;
    } catch (e) {
      fail(`${rel} not written`, e);
    }
  }
  const keepDirs = new Set([...safe.keys()].map((f) => f.split('/')[0]!));
  try {
    for (const entry of await readdir(base, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(base, entry.name);
      if (!keepDirs.has(entry.name)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      for (const f of await readdir(dir)) {
        if (!safe.has(`${entry.name}/${f}`)) await rm(join(dir, f), { force: true });
      }
    }
  } catch (e) {
    fail(`stale files in ${root} not removed`, e);
  }
  return report;
}

/** Creates `dir` (one level), or checks that it is a real directory and not a symlink. */
async function realDirectory(dir: string): Promise<void> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info) await mkdir(dir, { mode: 0o700 });
  else if (!info.isDirectory()) throw new Error(`${basename(dir)} is not a directory`);
}

/** The text of a regular file; undefined when absent; a symlink or other kind is removed first. */
async function readRegular(path: string): Promise<string | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isFile()) {
    await rm(path, { force: true });
    return undefined;
  }
  return readFile(path, 'utf8');
}
