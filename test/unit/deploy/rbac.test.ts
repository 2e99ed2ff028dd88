// The ClusterRole grants exactly the API access the agent's code uses: no more (least privilege),
// no less (a missing verb is a watch or an Event that fails only in a real cluster).
//
// USED below is the one table of that access. The test reads the code too: the informer paths and
// the calls on the API clients in src/, and fails when they and the table disagree. When the code
// changes (say Events move to events.k8s.io, or gain a patch for a repeated Event), update USED and
// deploy/rbac.yaml together.

import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDeploy } from './rendered.js';

interface Access {
  group: string;
  resource: string;
  verbs: string[];
}

const USED: Access[] = [
  { group: 'k8s.cni.cncf.io', resource: 'multi-networkpolicies', verbs: ['list', 'watch'] },
  { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', verbs: ['list', 'watch'] },
  { group: '', resource: 'namespaces', verbs: ['list', 'watch'] },
  { group: '', resource: 'nodes', verbs: ['list', 'watch'] },
  { group: '', resource: 'pods', verbs: ['list', 'watch'] },
  { group: 'events.k8s.io', resource: 'events', verbs: ['create', 'get', 'patch'] },
];

/** "group resource verb" lines, sorted: one per permission. */
function expand(access: Access[]): string[] {
  const lines = access.flatMap((a) => a.verbs.map((v) => `${a.group || 'core'} ${a.resource} ${v}`));
  return [...new Set(lines)].sort();
}

function sources(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [{ path: p, text: readFileSync(p, 'utf8') }] : [];
  });
}

/** The group of each generated API client class the code may call. */
const CLIENT_GROUP: Record<string, string | undefined> = {
  CoreV1Api: '',
  EventsV1Api: 'events.k8s.io',
  // Custom objects name their group in the arguments; their list+watch comes from the informers.
  CustomObjectsApi: undefined,
};

const VERB_OF: Record<string, string> = {
  list: 'list',
  read: 'get',
  create: 'create',
  patch: 'patch',
  replace: 'update',
  delete: 'delete',
  watch: 'watch',
};

/** Kind in a client method name -> resource: "NamespacedEvent" -> events. */
function resourceOf(rest: string): string {
  const kind = rest.replace(/^Namespaced|^Cluster|ForAllNamespaces$|Status$/g, '').toLowerCase();
  return kind.endsWith('s') ? `${kind}es` : kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
}

/** The API access the code asks for, read from src/, and the calls it could not attribute. */
function accessInCode(): { found: Access[]; unknown: string[] } {
  const found: Access[] = [];
  const unknown: string[] = [];
  for (const { path, text } of sources('src')) {
    // Informers and watches on literal paths: /api/v1/<resource> or /apis/<group>/<version>/<resource>.
    for (const m of text.matchAll(/(?:makeInformer\(\s*\w+,|\.watch\()\s*['`]\/api(?:s\/([\w.]+))?\/[\w$]+\/([a-z-]+)['`]/g))
      found.push({ group: m[1] ?? '', resource: m[2]!, verbs: ['list', 'watch'] });
    // Informers on a templated CRD path, made by a helper called as helper('<plural>', '<version>', ...).
    for (const m of text.matchAll(/makeInformer\(\s*\w+,\s*`\/apis\/([\w.]+)\/\$\{\w+\}\/\$\{\w+\}`/g)) {
      const calls = [...text.matchAll(/\b\w+\('([a-z-]+)', '(v\d\w*)'/g)];
      if (calls.length === 0) unknown.push(`${path}: templated informer path of ${m[1]} with no helper calls`);
      for (const c of calls) found.push({ group: m[1]!, resource: c[1]!, verbs: ['list', 'watch'] });
    }
    // Watched resources declared as `path: '/api/v1/<resource>'` (the informers list and watch them).
    for (const m of text.matchAll(/\bpath: '\/api(?:s\/([\w.]+))?\/[\w$]+\/([a-z-]+)'/g))
      found.push({ group: m[1] ?? '', resource: m[2]!, verbs: ['list', 'watch'] });
    // Plain requests ({ method: 'POST', path: ... }) on a namespaced resource path built in the file.
    const paths = [...text.matchAll(/`\/apis\/([\w.]+)\/v\w+\/namespaces\/\$\{\w+\}\/([a-z-]+)/g)];
    const methods = [...text.matchAll(/\bmethod: '(GET|POST|PATCH|PUT|DELETE)'/g)].map((m) => m[1]!);
    if (paths.length > 1) unknown.push(`${path}: requests on several resource paths`);
    else if (paths.length === 1) {
      const verb: Record<string, string> = { GET: 'get', POST: 'create', PATCH: 'patch', PUT: 'update', DELETE: 'delete' };
      for (const m of methods) found.push({ group: paths[0]![1]!, resource: paths[0]![2]!, verbs: [verb[m]!] });
    } else if (methods.some((m) => m !== 'GET')) unknown.push(`${path}: a write request with no resource path`);
    // Calls on generated API clients, by the client's class.
    const clients = new Map<string, string>();
    for (const m of text.matchAll(/(\w+) = \w+\.makeApiClient\(k8s\.(\w+)\)/g)) clients.set(m[1]!, m[2]!);
    for (const m of text.matchAll(/(\w+)\??: k8s\.(\w+Api)\b/g)) clients.set(m[1]!, m[2]!);
    for (const [name, cls] of clients) {
      for (const m of text.matchAll(new RegExp(`\\b${name}\\.(list|read|create|patch|replace|delete|watch)(\\w*)\\(`, 'g'))) {
        if (!(cls in CLIENT_GROUP)) {
          unknown.push(`${path}: ${name}.${m[1]}${m[2]} on ${cls}`);
          continue;
        }
        const group = CLIENT_GROUP[cls];
        if (group === undefined) {
          if (m[1] !== 'list') unknown.push(`${path}: ${name}.${m[1]}${m[2]} on ${cls}`);
          continue;
        }
        found.push({ group, resource: resourceOf(m[2]!), verbs: [VERB_OF[m[1]!]!] });
      }
    }
  }
  return { found, unknown };
}

describe('deploy: RBAC grants exactly what the code uses', () => {
  it('the code uses what the table says (informers and client calls in src/)', () => {
    const { found, unknown } = accessInCode();
    expect(unknown, 'API calls the test cannot attribute to a permission').to.deep.equal([]);
    expect(expand(found)).to.deep.equal(expand(USED));
  });

  it('the ClusterRole grants what the table says, no more and no less', async () => {
    const roles = (await renderDeploy()).filter((o) => o.kind === 'ClusterRole');
    expect(roles).to.have.length(1);
    const rules = (roles[0] as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }).rules;
    const granted = rules.flatMap((r) =>
      r.apiGroups.flatMap((group) => r.resources.map((resource) => ({ group, resource, verbs: r.verbs }))),
    );
    expect(expand(granted)).to.deep.equal(expand(USED));
    expect(granted.some((g) => g.verbs.includes('*') || g.resource === '*'), 'wildcards').to.equal(false);
  });

  it('the reading of the code sees every kind of call it claims to read', () => {
    // A guard against a regex that silently stops matching: each source of permissions is non-empty.
    const { found } = accessInCode();
    expect(found.some((a) => a.group === 'k8s.cni.cncf.io'), 'templated CRD informers').to.equal(true);
    expect(found.some((a) => a.group === '' && a.verbs.includes('watch')), 'core informers').to.equal(true);
    expect(found.some((a) => a.resource === 'events'), 'Event calls').to.equal(true);
  });
});
