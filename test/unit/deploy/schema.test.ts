// Every object `kubectl kustomize deploy/` renders passes a structural check: a known
// apiVersion/kind pair and the fields the API server requires (from the Kubernetes API reference),
// with unknown fields rejected where a typo would silently drop a setting (container, pod spec,
// security context). No validator ships in Debian or npm without new dependencies, so this is it.

import { expect } from 'chai';
import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderDeploy, type K8sObject } from './rendered.js';

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
const strings = { type: 'array', items: { type: 'string' } };
const labels = { type: 'object', additionalProperties: { type: 'string' } };

function metadata(namespaced: boolean) {
  return {
    type: 'object',
    required: namespaced ? ['name', 'namespace'] : ['name'],
    properties: {
      name: { type: 'string', pattern: DNS_SUBDOMAIN },
      namespace: { type: 'string', pattern: DNS_SUBDOMAIN },
      labels,
      annotations: labels,
    },
    ...(namespaced ? {} : { not: { required: ['namespace'] } }),
  };
}

function kind(namespaced: boolean, spec: Record<string, unknown> = {}, required: string[] = []) {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', ...required],
    properties: { metadata: metadata(namespaced), ...spec },
  };
}

const probe = {
  type: 'object',
  properties: {
    httpGet: {
      type: 'object',
      required: ['port'],
      properties: { path: { type: 'string', pattern: '^/' }, port: { type: ['integer', 'string'] } },
    },
  },
  // Exactly one handler.
  oneOf: [{ required: ['httpGet'] }, { required: ['tcpSocket'] }, { required: ['exec'] }, { required: ['grpc'] }],
};

const securityContext = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowPrivilegeEscalation: { type: 'boolean' },
    appArmorProfile: { type: 'object' },
    capabilities: { type: 'object', additionalProperties: false, properties: { add: strings, drop: strings } },
    privileged: { type: 'boolean' },
    procMount: { type: 'string' },
    readOnlyRootFilesystem: { type: 'boolean' },
    runAsGroup: { type: 'integer' },
    runAsNonRoot: { type: 'boolean' },
    runAsUser: { type: 'integer' },
    seLinuxOptions: { type: 'object' },
    seccompProfile: {
      type: 'object',
      required: ['type'],
      properties: { type: { enum: ['RuntimeDefault', 'Localhost', 'Unconfined'] } },
    },
    windowsOptions: { type: 'object' },
  },
};

const container = {
  type: 'object',
  required: ['name', 'image'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    image: { type: 'string', minLength: 1 },
    imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    command: strings,
    args: strings,
    workingDir: { type: 'string' },
    env: {
      type: 'array',
      items: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' }, value: { type: 'string' }, valueFrom: { type: 'object' } } },
    },
    envFrom: { type: 'array' },
    ports: {
      type: 'array',
      items: {
        type: 'object',
        required: ['containerPort'],
        properties: {
          name: { type: 'string', maxLength: 15 },
          containerPort: { type: 'integer', minimum: 1, maximum: 65535 },
          protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
        },
      },
    },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: { requests: labels, limits: labels, claims: { type: 'array' } },
    },
    livenessProbe: probe,
    readinessProbe: probe,
    startupProbe: probe,
    lifecycle: { type: 'object' },
    securityContext,
    volumeMounts: {
      type: 'array',
      items: { type: 'object', required: ['name', 'mountPath'], properties: { readOnly: { type: 'boolean' } } },
    },
    volumeDevices: { type: 'array' },
    resizePolicy: { type: 'array' },
    restartPolicy: { type: 'string' },
    terminationMessagePath: { type: 'string' },
    terminationMessagePolicy: { type: 'string' },
    stdin: { type: 'boolean' },
    stdinOnce: { type: 'boolean' },
    tty: { type: 'boolean' },
  },
};

const POD_SPEC_FIELDS = [
  'activeDeadlineSeconds', 'affinity', 'automountServiceAccountToken', 'containers', 'dnsConfig',
  'dnsPolicy', 'enableServiceLinks', 'ephemeralContainers', 'hostAliases', 'hostIPC', 'hostNetwork',
  'hostPID', 'hostUsers', 'hostname', 'imagePullSecrets', 'initContainers', 'nodeName',
  'nodeSelector', 'os', 'overhead', 'preemptionPolicy', 'priority', 'priorityClassName',
  'readinessGates', 'resourceClaims', 'resources', 'restartPolicy', 'runtimeClassName',
  'schedulerName', 'schedulingGates', 'securityContext', 'serviceAccountName',
  'setHostnameAsFQDN', 'shareProcessNamespace', 'subdomain', 'terminationGracePeriodSeconds',
  'tolerations', 'topologySpreadConstraints', 'volumes',
];

const SCHEMAS: Record<string, object> = {
  'v1 ServiceAccount': kind(true),
  'rbac.authorization.k8s.io/v1 ClusterRole': kind(false, {
    rules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['verbs'],
        properties: { apiGroups: strings, resources: strings, verbs: { ...strings, minItems: 1 } },
      },
    },
  }),
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': kind(
    false,
    {
      roleRef: {
        type: 'object',
        required: ['apiGroup', 'kind', 'name'],
        properties: { apiGroup: { const: 'rbac.authorization.k8s.io' }, kind: { enum: ['ClusterRole'] } },
      },
      subjects: { type: 'array', items: { type: 'object', required: ['kind', 'name'] } },
    },
    ['roleRef'],
  ),
  'apps/v1 DaemonSet': kind(
    true,
    {
      spec: {
        type: 'object',
        required: ['selector', 'template'],
        properties: {
          selector: { type: 'object', properties: { matchLabels: labels } },
          updateStrategy: {
            type: 'object',
            properties: { type: { enum: ['RollingUpdate', 'OnDelete'] } },
          },
          template: {
            type: 'object',
            required: ['spec'],
            properties: {
              metadata: { type: 'object', properties: { labels } },
              spec: {
                type: 'object',
                required: ['containers'],
                propertyNames: { enum: POD_SPEC_FIELDS },
                properties: {
                  containers: { type: 'array', minItems: 1, items: container },
                  nodeSelector: labels,
                  terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
                  dnsPolicy: { enum: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] },
                  volumes: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['name'],
                      minProperties: 2,
                      maxProperties: 2,
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    ['spec'],
  ),
  'apiextensions.k8s.io/v1 CustomResourceDefinition': kind(
    false,
    {
      spec: {
        type: 'object',
        required: ['group', 'names', 'scope', 'versions'],
        properties: {
          names: { type: 'object', required: ['plural', 'kind'] },
          scope: { enum: ['Namespaced', 'Cluster'] },
          versions: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', required: ['name', 'served', 'storage'] },
          },
        },
      },
    },
    ['spec'],
  ),
};

describe('deploy: every rendered object passes the schema check', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validators = new Map<string, ValidateFunction>(
    Object.entries(SCHEMAS).map(([k, s]) => [k, ajv.compile(s)]),
  );
  let objects: K8sObject[];
  before(async () => {
    objects = await renderDeploy();
  });

  it('renders the CRDs, the RBAC and the DaemonSet', () => {
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`).sort()).to.deep.equal([
      'apiextensions.k8s.io/v1 CustomResourceDefinition',
      'apiextensions.k8s.io/v1 CustomResourceDefinition',
      'apps/v1 DaemonSet',
      'rbac.authorization.k8s.io/v1 ClusterRole',
      'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
      'v1 ServiceAccount',
    ]);
  });

  it('renders the CRDs exactly as deploy/crds holds them (the agent validates against those files)', () => {
    for (const file of ['deploy/crds/multi-net-crd.yaml', 'deploy/crds/net-attach-def.yaml']) {
      const crd = parse(readFileSync(file, 'utf8')) as K8sObject;
      const rendered = objects.find((o) => o.kind === crd.kind && o.metadata.name === crd.metadata.name);
      expect(rendered, file).to.deep.equal(crd);
    }
  });

  it('has a known apiVersion/kind and the required fields in every object', () => {
    const problems: string[] = [];
    for (const o of objects) {
      const key = `${o.apiVersion} ${o.kind}`;
      const name = String(o.metadata?.name);
      const validate = validators.get(key);
      if (!validate) {
        problems.push(`${key} ${name}: unknown apiVersion/kind`);
        continue;
      }
      if (!validate(o)) {
        for (const e of validate.errors ?? [])
          problems.push(`${key} ${name}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('the check rejects a typo in a container field and a missing image', () => {
    const ds = objects.find((o) => o.kind === 'DaemonSet')!;
    const broken = structuredClone(ds) as K8sObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const c = broken.spec.template.spec.containers[0]!;
    c.readinessprobe = c.readinessProbe;
    delete c.image;
    const validate = validators.get('apps/v1 DaemonSet')!;
    expect(validate(broken)).to.equal(false);
    const messages = (validate.errors ?? []).map((e) => `${e.message} ${JSON.stringify(e.params)}`);
    expect(messages.join('\n')).to.include('readinessprobe').and.include('image');
  });

  it('keeps the references inside the render consistent', () => {
    const problems: string[] = [];
    for (const o of objects.filter((x) => x.kind === 'DaemonSet')) {
      const spec = o.spec as {
        selector: { matchLabels: Record<string, string> };
        template: {
          metadata: { labels: Record<string, string> };
          spec: { containers: { volumeMounts?: { name: string }[] }[]; volumes?: { name: string }[] };
        };
      };
      for (const [k, v] of Object.entries(spec.selector.matchLabels))
        if (spec.template.metadata.labels[k] !== v) problems.push(`selector ${k}=${v} does not match the template`);
      const volumes = new Set((spec.template.spec.volumes ?? []).map((v) => v.name));
      for (const c of spec.template.spec.containers)
        for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) problems.push(`no volume ${m.name}`);
    }
    for (const crd of objects.filter((x) => x.kind === 'CustomResourceDefinition')) {
      const spec = crd.spec as { group: string; names: { plural: string }; versions: { storage: boolean }[] };
      if (crd.metadata.name !== `${spec.names.plural}.${spec.group}`) problems.push(`CRD name ${crd.metadata.name}`);
      if (spec.versions.filter((v) => v.storage).length !== 1) problems.push(`CRD ${crd.metadata.name}: storage versions`);
    }
    const roles = new Set(objects.filter((x) => x.kind === 'ClusterRole').map((x) => x.metadata.name));
    for (const b of objects.filter((x) => x.kind === 'ClusterRoleBinding')) {
      const ref = (b as unknown as { roleRef: { name: string } }).roleRef.name;
      if (!roles.has(ref)) problems.push(`binding ${b.metadata.name} refers to a missing ClusterRole ${ref}`);
    }
    expect(problems).to.deep.equal([]);
  });
});
