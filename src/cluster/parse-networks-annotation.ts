// Reads the k8s.v1.cni.cncf.io/networks annotation (the networks a pod asks Multus for), in both
// forms the multi-net spec requires: "net-a, other-ns/net-c@eth1" and a JSON list of selection objects.

import { annotationPath, childPath } from './field-path.js';
import { isDns1123Label, isNetdevName } from './name-checks.js';
import { ANNOTATION } from './objects.js';
import type { Parsed } from './parsed.js';
import type { Problem } from './problem.js';

export interface NetworkSelection {
  namespace: string;
  name: string;
  /** Interface name the pod asked for, when it did. */
  interface?: string;
}

const PATH = annotationPath(ANNOTATION.networks);
const ENTRY_IGNORED = 'this network request is ignored';

function problem(object: string, path: string, message: string, effect = ENTRY_IGNORED): Problem {
  return { severity: 'warning', object, path, message, effect };
}

/** Checks the names of one request; returns what is wrong, or undefined. */
function checkSelection(sel: NetworkSelection): string | undefined {
  if (!isDns1123Label(sel.namespace))
    return `namespace ${JSON.stringify(sel.namespace)} is not a DNS-1123 label`;
  if (!isDns1123Label(sel.name)) return `network name ${JSON.stringify(sel.name)} is not a DNS-1123 label`;
  if (sel.interface !== undefined && !isNetdevName(sel.interface)) {
    return `interface ${JSON.stringify(sel.interface)} is not a valid interface name`;
  }
  return undefined;
}

function parseShortItem(item: string, podNamespace: string): NetworkSelection | string {
  const slash = item.split('/');
  if (slash.length > 2) return `"${item}" has more than one "/"`;
  const [namespace, rest] = slash.length === 2 ? [slash[0] ?? '', slash[1] ?? ''] : [podNamespace, item];
  const at = rest.split('@');
  if (at.length > 2) return `"${item}" has more than one "@"`;
  const sel: NetworkSelection = { namespace, name: at[0] ?? '' };
  if (at.length === 2) sel.interface = at[1] ?? '';
  return checkSelection(sel) ?? sel;
}

function parseShortForm(text: string, podNamespace: string, object: string): Parsed<NetworkSelection[]> {
  const value: NetworkSelection[] = [];
  const problems: Problem[] = [];
  const items = text.split(',').map((s) => s.trim());
  items.forEach((item, i) => {
    if (item === '') return;
    const r = parseShortItem(item, podNamespace);
    if (typeof r === 'string') problems.push(problem(object, childPath(PATH, i), r));
    else value.push(r);
  });
  return { value, problems };
}

function parseJsonForm(text: string, podNamespace: string, object: string): Parsed<NetworkSelection[]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const msg = `is not valid JSON: ${(e as Error).message}`;
    return { value: [], problems: [problem(object, PATH, msg, 'the annotation is ignored')] };
  }
  if (!Array.isArray(data)) {
    return {
      value: [],
      problems: [problem(object, PATH, 'must be a JSON list', 'the annotation is ignored')],
    };
  }
  const value: NetworkSelection[] = [];
  const problems: Problem[] = [];
  data.forEach((entry: unknown, i) => {
    const r = readJsonEntry(entry, podNamespace);
    if (!('message' in r)) {
      value.push(r);
      return;
    }
    const entryPath = childPath(PATH, i);
    problems.push(problem(object, r.field ? childPath(entryPath, r.field) : entryPath, r.message));
  });
  return { value, problems };
}

/** One element of the JSON form, or what is wrong with it (field '' = the whole element). */
function readJsonEntry(
  entry: unknown,
  podNamespace: string,
): NetworkSelection | { field: string; message: string } {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    return { field: '', message: 'must be an object' };
  const e = entry as Record<string, unknown>;
  if (typeof e.name !== 'string') return { field: 'name', message: 'must be a string' };
  for (const key of ['namespace', 'interface']) {
    if (e[key] !== undefined && typeof e[key] !== 'string')
      return { field: key, message: 'must be a string' };
  }
  const sel: NetworkSelection = {
    namespace: (e.namespace as string | undefined) || podNamespace,
    name: e.name,
  };
  if (e.interface !== undefined) sel.interface = e.interface as string;
  const wrong = checkSelection(sel);
  return wrong ? { field: '', message: wrong } : sel;
}

/**
 * Parses the networks annotation. `object` names the pod in Problems ("Pod app/db").
 * Like Multus, the JSON form is recognised by any of the characters [ { ".
 */
export function parseNetworksAnnotation(
  text: string,
  podNamespace: string,
  object: string,
): Parsed<NetworkSelection[]> {
  return /[[{"]/.test(text)
    ? parseJsonForm(text, podNamespace, object)
    : parseShortForm(text, podNamespace, object);
}
