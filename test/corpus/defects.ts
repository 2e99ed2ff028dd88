// The bad-input corpus: the example cluster (examples/manifests) plus one defect each. Defects are
// generated from a few valid templates by setting one field to a value it must not have, plus YAML
// and file hazards built at test time (FIFOs, symlink loops, megabyte values are never committed)
// and a few hand-written files (test/corpus/hand). See docs/reliability.md.

import { mkfifo } from './mkfifo.js';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** The file each defect adds to a copy of the base cluster (sorted after the base files). */
export const DEFECT_FILE = 'zz-defect.yaml';

export interface Defect {
  /** Unique, e.g. "policy spec.ingress[0].ports[0].port=true". */
  id: string;
  category: string;
  /** Files to add next to the base files (name -> content). */
  files?: Record<string, string | Buffer>;
  /** Builds what cannot be committed (FIFO, symlinks, huge values) in the case's directory. */
  setup?: (dir: string) => Promise<void>;
  /**
   * What a problem must name: the file (a part of its source), the object and the field path
   * (a prefix either way). Undefined when the input is valid after all (BOM, CRLF) and must
   * load silently like the template.
   */
  expect?: { file: string; object?: string; field?: string };
  /** Extra node to render, when the defect adds one. */
  node?: string;
}

type Json = unknown;
type Path = (string | number)[];

const POLICY_FOR = 'k8s.v1.cni.cncf.io/policy-for';
const STATUS = 'k8s.v1.cni.cncf.io/network-status';
const UPLINKS = 'multi-networkpolicy-tc.k8s.cni.cncf.io/uplink-representors';
const DELETE = Symbol('delete');

/** Allows api -> db on TCP 5432 on accel-net: a subset of what the base cluster allows. */
function ingressPolicy(): Record<string, Json> {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { name: 'defect', namespace: 'app', annotations: { [POLICY_FOR]: 'accel-net' } },
    spec: {
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { app: 'api' } } }],
          ports: [{ protocol: 'TCP', port: 5432 }],
        },
      ],
    },
  };
}

/** The frontend's egress to api:8080 and to 192.0.2.0/24 minus its upper half: as the base has it. */
function egressPolicy(): Record<string, Json> {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1beta2',
    kind: 'MultiNetworkPolicy',
    metadata: { name: 'defect-egress', namespace: 'app', annotations: { [POLICY_FOR]: 'accel-net' } },
    spec: {
      podSelector: { matchLabels: { app: 'frontend' } },
      policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 8080 }] },
        {
          to: [{ ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } }],
          ports: [{ protocol: 'TCP', port: 443 }],
        },
      ],
    },
  };
}

interface StatusEntry {
  name?: Json;
  interface?: Json;
  ips?: Json;
  mac?: Json;
  'device-info'?: Json;
}

function statusEntry(): StatusEntry {
  return {
    name: 'app/accel-net',
    interface: 'net1',
    ips: ['10.56.1.99'],
    mac: '02:56:01:00:00:99',
    'device-info': {
      type: 'pci',
      version: '1.1.0',
      pci: { 'pci-address': '0000:03:01.1', 'pf-pci-address': '0000:03:00.0', 'representor-device': 'eth9' },
    },
  };
}

/** A new pod labelled like the API pods (so any wrong attribution would show) on worker-1. */
function pod(status: Json = JSON.stringify([statusEntry()])): Record<string, Json> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'defect-pod',
      namespace: 'app',
      uid: '00000000-0000-4000-8000-0000000000ff',
      labels: { app: 'api' },
      annotations: { 'k8s.v1.cni.cncf.io/networks': 'accel-net@net1', [STATUS]: status },
    },
    spec: {
      nodeName: 'worker-1',
      containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
    },
    status: { phase: 'Running' },
  };
}

function nad(): Record<string, Json> {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'defect-net', namespace: 'app' },
    spec: { config: '{"cniVersion":"0.3.1","name":"defect-net","type":"accelerated-bridge"}' },
  };
}

function namespace(): Record<string, Json> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'defect-ns', labels: { team: 'red' } } };
}

function node(): Record<string, Json> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'worker-9', annotations: { [UPLINKS]: 'p0' } },
  };
}

/** A deep copy of `obj` with the value at `path` replaced (or deleted). */
function mutate(obj: Record<string, Json>, path: Path, value: Json): Record<string, Json> {
  const copy = structuredClone(obj);
  let at: Record<string | number, Json> = copy;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null) throw new Error(`corpus: no ${String(key)} in template`);
    at = next as Record<string | number, Json>;
  }
  const last = path[path.length - 1]!;
  if (value === DELETE) delete at[last];
  else at[last] = value;
  return copy;
}

/** "spec.ingress[0].ports" from a path; keys with dots are quoted as the loader's problems quote them. */
export function fieldPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function show(v: Json): string {
  if (v === DELETE) return '(deleted)';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function yamlOf(obj: Json): string {
  return stringify(obj, { lineWidth: 0 });
}

/** One defect per (path, value) of a template; the problem must name the object and the field. */
function fieldDefects(
  category: string,
  template: () => Record<string, Json>,
  object: string,
  table: [Path, Json[]][],
  node?: string,
): Defect[] {
  const out: Defect[] = [];
  for (const [path, values] of table) {
    for (const value of values) {
      out.push({
        id: `${category} ${fieldPath(path)}=${show(value)}`,
        category,
        files: { [DEFECT_FILE]: yamlOf(mutate(template(), path, value)) },
        expect: { file: DEFECT_FILE, object, field: fieldPath(path) },
        ...(node ? { node } : {}),
      });
    }
  }
  return out;
}

const WRONG = ['text', 42, true, ['x'], { a: 1 }];

const INGRESS_TABLE: [Path, Json[]][] = [
  [['apiVersion'], [DELETE, 'v1', 'k8s.cni.cncf.io/v9', 42]],
  [
    ['metadata', 'annotations'],
    ['text', 42, ['x']],
  ],
  [
    ['metadata', 'annotations', POLICY_FOR],
    [DELETE, 42, 'a/b/c', '/accel-net', 'app/'],
  ],
  [
    ['metadata', 'labels'],
    ['text', 42],
  ],
  [['spec'], ['text', 42, [], null]],
  [
    ['spec', 'podSelector'],
    [DELETE, 'text', 42, ['x']],
  ],
  [
    ['spec', 'podSelector', 'matchLabels'],
    ['text', ['x'], { app: 5 }, { app: 'a b c' }, { 'bad key!': 'v' }],
  ],
  [
    ['spec', 'podSelector', 'matchExpressions'],
    [
      'text',
      [{ key: 'app', operator: 'Bogus', values: ['db'] }],
      [{ key: 'app', operator: 'In', values: [] }],
      [{ key: 'app', operator: 'Exists', values: ['db'] }],
      [{ operator: 'In', values: ['db'] }],
      [{ key: 'app', operator: 'In', values: 'db' }],
    ],
  ],
  [
    ['spec', 'policyTypes'],
    ['Ingress', [42], ['Sideways'], 5],
  ],
  [
    ['spec', 'ingress'],
    ['text', 42, { from: [] }],
  ],
  [['spec', 'ingress', 0], WRONG.filter((v) => !(typeof v === 'object' && !Array.isArray(v)))],
  [
    ['spec', 'ingress', 0, 'from'],
    ['text', 42, { podSelector: {} }],
  ],
  [
    ['spec', 'ingress', 0, 'from', 0],
    ['text', 42, {}, { podSelector: { matchLabels: { app: 'api' } }, ipBlock: { cidr: '10.56.1.0/24' } }],
  ],
  [
    ['spec', 'ingress', 0, 'from', 0, 'podSelector'],
    ['text', 42, ['x']],
  ],
  [
    ['spec', 'ingress', 0, 'from', 0, 'namespaceSelector'],
    ['text', 42, { matchExpressions: [{ key: 'a', operator: 'Nope' }] }],
  ],
  [
    ['spec', 'ingress', 0, 'from', 0, 'ipBlock'],
    [
      'text',
      { cidr: '10.56.300.0/24' },
      { cidr: '10.56.1.0/24', except: ['10.57.0.0/24'] },
      { cidr: '10.56.1.0/24', except: ['fd00::/64'] },
      { cidr: '10.56.1.0/24', except: ['10.56.1.0/16'] },
      { cidr: 42 },
      { except: ['10.56.1.0/25'] },
      { cidr: '10.56.1.0/24', except: 'text' },
      { cidr: 'fd00:56::/64', except: ['fd00:56::/32'] },
      { cidr: '10.56.1.0/33' },
      { cidr: '0.0.0.0/0', except: ['not-a-cidr'] },
    ],
  ],
  [
    ['spec', 'ingress', 0, 'ports'],
    ['text', 42, { port: 5432 }],
  ],
  [
    ['spec', 'ingress', 0, 'ports', 0],
    ['text', 42, ['x']],
  ],
  [
    ['spec', 'ingress', 0, 'ports', 0, 'port'],
    [true, 0, 65536, -1, 'Bad_Name!', 1.5, [], {}],
  ],
  [
    ['spec', 'ingress', 0, 'ports', 0, 'protocol'],
    ['tcpx', 42, '', 'ALL'],
  ],
  [
    ['spec', 'ingress', 0, 'ports', 0, 'endPort'],
    [5000, 'text', 70000, true],
  ],
];

const EGRESS_TABLE: [Path, Json[]][] = [
  [
    ['spec', 'egress'],
    ['text', 42],
  ],
  [
    ['spec', 'egress', 0, 'to'],
    ['text', 42],
  ],
  [
    ['spec', 'egress', 0, 'to', 0, 'podSelector', 'matchLabels'],
    ['text', { app: ['api'] }],
  ],
  [
    ['spec', 'egress', 0, 'ports', 0, 'port'],
    [0, 'Bad_Name!', true],
  ],
  [
    ['spec', 'egress', 1, 'to', 0, 'ipBlock'],
    [
      { cidr: '192.0.2.0/24', except: ['198.51.100.0/25'] },
      { cidr: '192.0.2.0/240' },
      { cidr: '192.0.2.0/24', except: 7 },
    ],
  ],
  [
    ['spec', 'egress', 1, 'ports', 0, 'endPort'],
    [442, 'x'],
  ],
  [
    ['spec', 'policyTypes', 0],
    ['egress!', 9],
  ],
];

const entryPath = (...rest: Path): Path => ['metadata', 'annotations', STATUS, ...rest];

/** Pod defects in the network-status annotation: the entry is mutated before it is serialised. */
function statusDefects(): Defect[] {
  const cases: [string, (e: StatusEntry) => Json][] = [
    ['name=5', (e) => ({ ...e, name: 5 })],
    ['name missing', (e) => ({ ...e, name: undefined })],
    ['interface missing', (e) => ({ ...e, interface: undefined })],
    ['interface=7', (e) => ({ ...e, interface: 7 })],
    ['ips="10.56.1.99"', (e) => ({ ...e, ips: '10.56.1.99' })],
    ['ips=[42]', (e) => ({ ...e, ips: [42] })],
    ['ips=[999.1.1.1]', (e) => ({ ...e, ips: ['999.1.1.1'] })],
    ['ips=[010.56.1.99]', (e) => ({ ...e, ips: ['010.56.1.99'] })],
    ['mac=7', (e) => ({ ...e, mac: 7 })],
    ['device-info="x"', (e) => ({ ...e, 'device-info': 'x' })],
    ['device-info.pci=7', (e) => ({ ...e, 'device-info': { type: 'pci', pci: 7 } })],
    ['pci-address=7', (e) => repr(e, 7, 'pci-address')],
    ['representor "../eth1"', (e) => repr(e, '../eth1')],
    ['representor with a newline', (e) => repr(e, 'eth9\nfilter del dev eth1')],
    ['representor with a space', (e) => repr(e, 'eth9 eth1')],
    ['representor of 16 characters', (e) => repr(e, 'x'.repeat(16))],
    ['representor "/"', (e) => repr(e, 'a/b')],
    ['representor 7', (e) => repr(e, 7)],
  ];
  const out: Defect[] = cases.map(([what, change]) => ({
    id: `pod network-status ${what}`,
    category: 'pod network-status',
    files: { [DEFECT_FILE]: yamlOf(pod(JSON.stringify([change(statusEntry())]))) },
    expect: { file: DEFECT_FILE, object: 'Pod app/defect-pod', field: fieldPath(entryPath()) },
  }));
  for (const text of ['not json', '{}', '"text"', '[1]', '[{"name": "app/accel-net"']) {
    out.push({
      id: `pod network-status ${text}`,
      category: 'pod network-status',
      files: { [DEFECT_FILE]: yamlOf(pod(text)) },
      expect: { file: DEFECT_FILE, object: 'Pod app/defect-pod', field: fieldPath(entryPath()) },
    });
  }
  out.push({
    id: 'pod network-status 42',
    category: 'pod network-status',
    files: { [DEFECT_FILE]: yamlOf(pod(42)) },
    expect: { file: DEFECT_FILE, object: 'Pod app/defect-pod', field: 'metadata.annotations' },
  });
  return out;
}

function repr(e: StatusEntry, value: Json, key = 'representor-device'): StatusEntry {
  const info = structuredClone(e['device-info']) as { pci: Record<string, Json> };
  info.pci[key] = value;
  return { ...e, 'device-info': info };
}

const POD_TABLE: [Path, Json[]][] = [
  [
    ['metadata', 'uid'],
    ['..', '../../etc', 'a/b', 42, '', 'é', 'x'.repeat(300)],
  ],
  [
    ['metadata', 'labels'],
    ['text', { app: 42 }, { 'app!': 'api' }, ['x']],
  ],
  [
    ['metadata', 'name'],
    ['Pöd-ünicode', 'a'.repeat(300), 42],
  ],
  [
    ['metadata', 'namespace'],
    [42, 'Bad_NS'],
  ],
  [
    ['spec', 'nodeName'],
    [42, ['x']],
  ],
  [
    ['spec', 'containers'],
    ['text', [{ name: 'c', ports: 'x' }], [{ name: 'c', ports: [{ name: 5, containerPort: 'x' }] }]],
  ],
  [['spec', 'hostNetwork'], ['yes']],
  [['status', 'phase'], [7]],
];

const NAD_TABLE: [Path, Json[]][] = [
  [
    ['spec', 'config'],
    ['not json', 42, '{"type": 5}', '{"plugins": "x"}', '{"plugins": [7]}'],
  ],
  [['spec'], ['text']],
];

const NAMESPACE_TABLE: [Path, Json[]][] = [
  [
    ['metadata', 'labels'],
    ['text', { team: 5 }, ['x']],
  ],
];

const NODE_TABLE: [Path, Json[]][] = [
  [
    ['metadata', 'annotations', UPLINKS],
    ['../p0', 'p0 p1', 'x'.repeat(16), '0000:03:00.0=', '=p0', 'p0\nq', 7],
  ],
];

/** Duplicates: redefinitions of base objects that would widen if the later one won. */
function duplicateDefects(): Defect[] {
  const allowAll = (name: string): Record<string, Json> => ({
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { name, namespace: 'app', annotations: { [POLICY_FOR]: 'accel-net' } },
    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] },
  });
  const claim = (ip: string, network = 'app/accel-net'): Record<string, Json> =>
    pod(JSON.stringify([{ ...statusEntry(), name: network, ips: [ip] }]));
  const relabel = (): Record<string, Json> => ({
    ...pod(),
    metadata: { ...(pod().metadata as Record<string, Json>), name: 'db', labels: { app: 'api' } },
  });
  const defs: [string, Record<string, Json>, string][] = [
    [
      'policy default-deny-ingress redefined to allow all',
      allowAll('default-deny-ingress'),
      'MultiNetworkPolicy app/default-deny-ingress',
    ],
    [
      'policy allow-db-from-api redefined to allow all',
      allowAll('allow-db-from-api'),
      'MultiNetworkPolicy app/allow-db-from-api',
    ],
    ['pod claims the frontend address', claim('10.56.1.10'), 'Pod app/defect-pod'],
    [
      'pod claims the db address on accel-net-2',
      claim('10.56.2.13', 'app/accel-net-2'),
      'Pod app/defect-pod',
    ],
    ['pod claims the api-1 IPv6 address', claim('fd00:56::11'), 'Pod app/defect-pod'],
    ['pod db redefined with the api label', relabel(), 'Pod app/db'],
    [
      'namespace app redefined with team blue',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app', labels: { team: 'blue' } } },
      'Namespace app',
    ],
    [
      'network accel-net redefined as macvlan',
      { ...nad(), metadata: { name: 'accel-net', namespace: 'app' }, spec: { config: '{"type":"macvlan"}' } },
      'NetworkAttachmentDefinition app/accel-net',
    ],
  ];
  return defs.map(([what, obj, object]) => ({
    id: `duplicate: ${what}`,
    category: 'duplicate',
    files: { [DEFECT_FILE]: yamlOf(obj) },
    expect: { file: DEFECT_FILE, object },
  }));
}

/** 1 MB label values, 100k-element lists: built at test time. */
function hugeDefects(): Defect[] {
  const big = 'a'.repeat(1 << 20);
  const many = Array.from(
    { length: 100_000 },
    (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  );
  return [
    {
      id: 'huge: 1 MB pod label value',
      category: 'huge',
      setup: (dir) =>
        writeFile(join(dir, DEFECT_FILE), yamlOf(mutate(pod(), ['metadata', 'labels', 'app'], big))),
      expect: { file: DEFECT_FILE, object: 'Pod app/defect-pod', field: 'metadata.labels' },
    },
    {
      id: 'huge: 1 MB policy matchLabels value',
      category: 'huge',
      setup: (dir) =>
        writeFile(
          join(dir, DEFECT_FILE),
          yamlOf(mutate(ingressPolicy(), ['spec', 'podSelector', 'matchLabels', 'app'], big)),
        ),
      expect: { file: DEFECT_FILE, object: 'MultiNetworkPolicy app/defect', field: 'spec.podSelector' },
    },
    {
      id: 'huge: 100k addresses in network-status',
      category: 'huge',
      setup: (dir) =>
        writeFile(join(dir, DEFECT_FILE), yamlOf(pod(JSON.stringify([{ ...statusEntry(), ips: many }])))),
      expect: { file: DEFECT_FILE, object: 'Pod app/defect-pod' },
    },
    {
      id: 'huge: 100k except entries',
      category: 'huge',
      setup: (dir) =>
        writeFile(
          join(dir, DEFECT_FILE),
          yamlOf(
            mutate(ingressPolicy(), ['spec', 'ingress', 0, 'from', 0], {
              ipBlock: { cidr: '10.0.0.0/8', except: many.map((a) => `${a}/33`) },
            }),
          ),
        ),
      expect: {
        file: DEFECT_FILE,
        object: 'MultiNetworkPolicy app/defect',
        field: 'spec.ingress[0].from[0]',
      },
    },
    {
      id: 'huge: 100k port entries of wrong type',
      category: 'huge',
      setup: (dir) =>
        writeFile(
          join(dir, DEFECT_FILE),
          yamlOf(
            mutate(
              ingressPolicy(),
              ['spec', 'ingress', 0, 'ports'],
              many.map(() => ({ port: true })),
            ),
          ),
        ),
      expect: { file: DEFECT_FILE, object: 'MultiNetworkPolicy app/defect', field: 'spec.ingress[0].ports' },
    },
  ];
}

/** YAML and file hazards. */
function fileDefects(): Defect[] {
  const valid = yamlOf(ingressPolicy());
  const bomb = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
    'kind: Pod',
  ].join('\n');
  const file = (name: string, content: string | Buffer, expectFile = name): Defect => ({
    id: `file: ${name}`,
    category: 'file',
    files: { [name]: content },
    expect: { file: expectFile },
  });
  return [
    file('zz-alias-bomb.yaml', bomb),
    file('zz-deep-flow.yaml', '['.repeat(100_000) + ']'.repeat(100_000)),
    file(
      'zz-deep-block.yaml',
      Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1',
    ),
    file('zz-deep.json', '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)),
    file('zz-tabs.yaml', valid.replace(/^ {2}/gm, '\t')),
    file('zz-duplicate-keys.yaml', valid + 'kind: Pod\n'),
    file('zz-binary.yaml', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))),
    file(
      'zz-invalid-utf8.yaml',
      Buffer.concat([Buffer.from('kind: Pod\nmetadata:\n  name: '), Buffer.from([0xff, 0xfe, 0xc3])]),
    ),
    file('zz-scalar.yaml', '42\n'),
    file('zz-list-doc.yaml', '- a\n- b\n'),
    file('zz-list-kind.yaml', yamlOf({ kind: 'List', items: [7, { kind: 'Pod' }, { kind: 'Nope' }] })),
    file('zz-no-kind.yaml', yamlOf({ apiVersion: 'v1', metadata: { name: 'x' } })),
    file('zz-unknown-kind.yaml', yamlOf({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } })),
    file('zz-syntax.yaml', 'kind: Pod\nmetadata: {name: [\n'),
    { ...file('zz-empty.yaml', ''), expect: undefined },
    { ...file('zz-comments.yaml', '# nothing\n---\n---\n'), expect: undefined },
    { ...file('zz-bom-crlf.yaml', '\ufeff' + valid.replace(/\n/g, '\r\n')), expect: undefined },
    {
      id: 'file: FIFO named zz-fifo.yaml',
      category: 'file',
      setup: (dir) => mkfifo(join(dir, 'zz-fifo.yaml')),
      expect: { file: 'zz-fifo.yaml' },
    },
    {
      id: 'file: symlink loop',
      category: 'file',
      setup: async (dir) => {
        await symlink('zz-loop-b.yaml', join(dir, 'zz-loop-a.yaml'));
        await symlink('zz-loop-a.yaml', join(dir, 'zz-loop-b.yaml'));
      },
      expect: { file: 'zz-loop-a.yaml' },
    },
    {
      id: 'file: dangling symlink',
      category: 'file',
      setup: (dir) => symlink('nowhere.yaml', join(dir, 'zz-dangling.yaml')),
      expect: { file: 'zz-dangling.yaml' },
    },
    {
      id: 'file: directory symlink loop',
      category: 'file',
      setup: async (dir) => {
        await mkdir(join(dir, 'zz-sub'));
        await symlink('..', join(dir, 'zz-sub', 'up'));
        await symlink('.', join(dir, 'zz-self'));
      },
    },
  ];
}

/** Hand-written inputs (test/corpus/hand/*.yaml), each added as it is. */
export function handDefects(files: Record<string, string>): Defect[] {
  return Object.entries(files).map(([name, content]) => ({
    id: `hand: ${name}`,
    category: 'hand',
    files: { [`zz-${name}`]: content },
    expect: { file: `zz-${name}` },
  }));
}

/**
 * Inputs that look wrong but are valid: nothing to report, and still nothing may widen. A named
 * port no destination pod has allows nothing; a pod without a uid only has no rule dumps (the
 * dump writer logs that).
 */
function validAfterAll(): Defect[] {
  const cases: [string, Json][] = [
    [
      'a named port no pod has',
      mutate(ingressPolicy(), ['spec', 'ingress', 0, 'ports', 0, 'port'], 'no-such-port'),
    ],
    ['a pod without uid', mutate(pod(), ['metadata', 'uid'], DELETE)],
    // The kernel takes these netdev names, and tc -batch reads ";" as a plain character.
    ['a representor with ";"', pod(JSON.stringify([repr(statusEntry(), 'eth9;reboot')]))],
    ['a unicode representor', pod(JSON.stringify([repr(statusEntry(), 'éth9')]))],
    ['an empty representor (looked up in sysfs)', pod(JSON.stringify([repr(statusEntry(), '')]))],
    [
      'a matchLabels value no pod has',
      mutate(ingressPolicy(), ['spec', 'podSelector', 'matchLabels'], { a: '1' }),
    ],
  ];
  return cases.map(([what, obj]) => ({
    id: `valid after all: ${what}`,
    category: 'valid',
    files: { [DEFECT_FILE]: yamlOf(obj) },
  }));
}

export function generatedDefects(): Defect[] {
  return [
    ...fieldDefects('policy', ingressPolicy, 'MultiNetworkPolicy app/defect', INGRESS_TABLE),
    ...fieldDefects('egress policy', egressPolicy, 'MultiNetworkPolicy app/defect-egress', EGRESS_TABLE),
    ...statusDefects(),
    ...fieldDefects('pod', pod, 'Pod ', POD_TABLE),
    ...fieldDefects('network', nad, 'NetworkAttachmentDefinition app/defect-net', NAD_TABLE),
    ...fieldDefects('namespace', namespace, 'Namespace defect-ns', NAMESPACE_TABLE),
    ...fieldDefects('node', node, 'Node worker-9', NODE_TABLE, 'worker-9'),
    ...duplicateDefects(),
    ...hugeDefects(),
    ...fileDefects(),
    ...validAfterAll(),
  ];
}
