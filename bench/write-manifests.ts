// Writes synthetic.ts's cluster as a manifests directory, for the CLI at scale (cli-scale.ts) or
// by hand: `node build/bench/write-manifests.js --out DIR [--format yaml|json] [--pods N] [--policies N]`.
//
// Layout, as a cluster dump usually looks: cluster.{yaml,json} (namespaces, networks, nodes),
// then per namespace pods.{yaml,json} and policies.{yaml,json}. YAML files are multi-document
// (block style, as kubectl writes them); JSON files are one `kind: List` each.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import type { Obj } from './cluster.js';
import { synthesize } from './synthetic.js';

export type ManifestFormat = 'yaml' | 'json';

function namespaceOf(o: Obj): string | undefined {
  const md = o.metadata as { namespace?: string } | undefined;
  return md?.namespace;
}

function fileText(objects: Obj[], format: ManifestFormat): string {
  if (format === 'json')
    return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2) + '\n';
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/** Writes `objects` below `dir` (created if missing) and returns the number of files written. */
export async function writeManifests(dir: string, objects: Obj[], format: ManifestFormat): Promise<number> {
  const groups = new Map<string, Obj[]>();
  const add = (file: string, o: Obj) => {
    const list = groups.get(file) ?? [];
    list.push(o);
    groups.set(file, list);
  };
  for (const o of objects) {
    const ns = namespaceOf(o);
    if (o.kind === 'Pod' && ns) add(join(ns, 'pods'), o);
    else if (o.kind === 'MultiNetworkPolicy' && ns) add(join(ns, 'policies'), o);
    else add('cluster', o);
  }
  for (const [file, list] of groups) {
    const path = join(dir, `${file}.${format}`);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, fileText(list, format));
  }
  return groups.size;
}

/** synthetic.ts's benchmark cluster (the one compile-time.ts measures) as a manifests directory. */
export async function writeSyntheticManifests(
  dir: string,
  o: { pods: number; policies: number; format: ManifestFormat },
): Promise<{ files: number; node: string }> {
  const synth = synthesize({
    pods: o.pods,
    policies: o.policies,
    localInterfaces: 100,
    otherNodes: 50,
    namespaces: 20,
    seed: 42,
  });
  const files = await writeManifests(dir, synth.objects, o.format);
  return { files, node: synth.node };
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = flag('--out');
  const format = flag('--format') ?? 'yaml';
  if (!out || (format !== 'yaml' && format !== 'json')) {
    console.error('usage: write-manifests.js --out DIR [--format yaml|json] [--pods N] [--policies N]');
    process.exit(2);
  }
  const r = await writeSyntheticManifests(out, {
    pods: Number(flag('--pods') ?? 5000),
    policies: Number(flag('--policies') ?? 500),
    format,
  });
  console.log(`wrote ${r.files} files to ${out} (benchmarked node: ${r.node})`);
}
