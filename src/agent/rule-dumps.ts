// --pod-rules-path: one file per pod interface with the rules on its representor, laid out as
// upstream does (<dir>/<pod uid>/<network, "/" as "-">-<representor>.rules). Files are rewritten
// only when their bytes change; directories of pods that are gone are removed.

import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodePipeline } from '../tc/ir.js';
import type { PolicyModel } from '../policy/types.js';
import { renderEntry, renderGenerationLines } from '../tc/render-tc.js';
import type { Generation } from '../tc/layout.js';

export function dumpFiles(
  pipeline: NodePipeline,
  model: PolicyModel,
  generations: Map<string, Generation>,
  ctZone: number,
  /** Per device, one offload line per filter (see offload-state.ts); omitted when unknown. */
  offload?: ReadonlyMap<string, readonly string[]>,
): Map<string, string> {
  const files = new Map<string, string>();
  for (const d of pipeline.devices) {
    if (d.kind !== 'vf') continue;
    for (const key of d.interfaces) {
      const iface = model.byKey.get(key);
      if (!iface || !iface.podInfo.uid) continue;
      const gen = generations.get(d.device) ?? 0;
      const body = [
        `# ${iface.pod} ${iface.interface} on ${iface.network}, representor ${d.device}`,
        `qdisc: clsact`,
        `filters:`,
        ...(d.chains.length > 0
          ? [...renderGenerationLines(d, gen, ctZone), renderEntry(d.device, gen, 'add')]
          : []),
        ...(offload?.has(d.device) ? ['offload:', ...offload.get(d.device)!.map((l) => `  ${l}`)] : []),
      ].join('\n');
      files.set(join(iface.podInfo.uid, `${iface.network.replace('/', '-')}-${d.device}.rules`), body + '\n');
    }
  }
  return files;
}

export async function writeDumps(root: string, files: Map<string, string>): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const keepDirs = new Set([...files.keys()].map((f) => f.split('/')[0]!));
  for (const [rel, body] of files) {
    const path = join(root, rel);
    await mkdir(join(root, rel.split('/')[0]!), { recursive: true, mode: 0o700 });
    const old = await readFile(path, 'utf8').catch(() => undefined);
    if (old !== body) await writeFile(path, body, { mode: 0o600 });
  }
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    if (!keepDirs.has(entry.name)) {
      await rm(join(root, entry.name), { recursive: true, force: true });
      continue;
    }
    for (const f of await readdir(join(root, entry.name))) {
      if (!files.has(`${entry.name}/${f}`)) await rm(join(root, entry.name, f), { force: true });
    }
  }
}
