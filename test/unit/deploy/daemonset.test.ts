// The DaemonSet as rendered by kustomize: its arguments are flags the agent accepts, its probes hit
// the agent's health port, and it runs with no more privilege than tc on the representors needs.

import { expect } from 'chai';
import { execa } from 'execa';
import { daemonSetPod, one, type Container, type PodSpec } from './rendered.js';

const NODE_LABEL = 'multi-networkpolicy-tc.k8s.cni.cncf.io/enabled';

/** Long and short flags that `run --help` lists. */
async function runFlags(): Promise<Set<string>> {
  const { stdout } = await execa('node', ['build/src/cli/main.js', 'run', '--help']);
  const flags = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s+((?:-\w, )?--[\w-]+)/.exec(line);
    if (m) for (const f of m[1]!.split(', ')) flags.add(f);
  }
  return flags;
}

/** Name of each flag in an args list (`--a=b` and `--a b` alike; values are skipped). */
function argFlags(args: string[]): string[] {
  return args.filter((a) => a.startsWith('-')).map((a) => a.split('=')[0]!);
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.slice(flag.length + 1) : args[i + 1];
}

/** A memory quantity in MiB (Ki, Mi, Gi or plain bytes). */
function mebibytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q);
  if (!m) throw new Error(`unsupported memory quantity ${q}`);
  const n = Number(m[1]);
  return m[2] === 'Gi' ? n * 1024 : m[2] === 'Mi' ? n : m[2] === 'Ki' ? n / 1024 : n / 2 ** 20;
}

describe('deploy: the DaemonSet', () => {
  let pod: PodSpec;
  let agent: Container;
  before(async () => {
    pod = await daemonSetPod();
    expect(pod.containers).to.have.length(1);
    agent = pod.containers[0]!;
  });

  it('passes only flags that `run --help` lists', async () => {
    const known = await runFlags();
    expect(known.size, 'flags parsed from run --help').to.be.greaterThan(5);
    const args = agent.args ?? [];
    expect(args.length).to.be.greaterThan(0);
    const unknown = argFlags(args).filter((f) => !known.has(f));
    expect(unknown, 'DaemonSet args the CLI does not accept').to.deep.equal([]);
  });

  it('names the node from the downward API and writes the dumps to a hostPath', () => {
    const args = agent.args ?? [];
    expect(argValue(args, '--hostname-override')).to.equal('$(NODE_NAME)');
    const nodeName = agent.env?.find((e) => e.name === 'NODE_NAME');
    expect(nodeName?.valueFrom).to.deep.equal({ fieldRef: { fieldPath: 'spec.nodeName' } });
    const dumps = argValue(args, '--pod-rules-path');
    expect(dumps).to.equal('/var/lib/multi-networkpolicy-tc');
    const mount = agent.volumeMounts?.find((m) => m.mountPath === dumps);
    expect(mount, 'a volume at --pod-rules-path').to.not.equal(undefined);
    expect(mount!.readOnly ?? false).to.equal(false);
    const volume = pod.volumes?.find((v) => v.name === mount!.name);
    expect(volume?.hostPath?.path).to.equal(dumps);
  });

  it('probes /healthz and /readyz on the port of --metrics-bind-address', () => {
    const bind = argValue(agent.args ?? [], '--metrics-bind-address');
    expect(bind, '--metrics-bind-address').to.match(/^[\w.]*:\d+$/);
    const port = Number(bind!.split(':').pop());
    const named = agent.ports?.find((p) => p.containerPort === port);
    expect(named, `a container port ${port}`).to.not.equal(undefined);
    const portOf = (p: number | string) => (typeof p === 'number' ? p : agent.ports?.find((x) => x.name === p)?.containerPort);
    expect(agent.livenessProbe?.httpGet?.path).to.equal('/healthz');
    expect(portOf(agent.livenessProbe!.httpGet!.port)).to.equal(port);
    expect(agent.readinessProbe?.httpGet?.path).to.equal('/readyz');
    expect(portOf(agent.readinessProbe!.httpGet!.port)).to.equal(port);
    if (agent.startupProbe) expect(portOf(agent.startupProbe.httpGet!.port)).to.equal(port);
  });

  it('runs only on nodes labelled for it, and stops within a short grace period', () => {
    expect(pod.nodeSelector?.[NODE_LABEL]).to.equal('true');
    expect(pod.terminationGracePeriodSeconds).to.be.a('number').and.within(1, 30);
    expect(pod.hostNetwork).to.equal(true);
  });

  it('requests CPU and memory, limits memory, and keeps the V8 heap below the limit', () => {
    const r = agent.resources;
    expect(r?.requests?.cpu).to.be.a('string');
    const request = mebibytes(r!.requests!.memory!);
    const limit = mebibytes(r!.limits!.memory!);
    expect(request).to.be.at.most(limit);
    const options = agent.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const heap = /--max-old-space-size=(\d+)/.exec(options);
    expect(heap, 'NODE_OPTIONS=--max-old-space-size=...').to.not.equal(null);
    // The rest of the process (code, young generation, buffers) needs room beside the old space.
    expect(Number(heap![1])).to.be.within(64, limit * 0.8);
    // A small young generation: V8's default (16 MB semi-spaces, 3 of them in use at a scavenge)
    // costs ~30 MiB of RSS for nothing here (bench/README.md). Old space + young generation + the
    // process outside the heap (~70 MiB: node, the module-hooks thread, code) fit under the limit.
    const semi = /--max-semi-space-size=(\d+)/.exec(options);
    expect(semi, 'NODE_OPTIONS=--max-semi-space-size=...').to.not.equal(null);
    expect(Number(semi![1])).to.be.within(1, 8);
    expect(Number(heap![1]) + 3 * Number(semi![1]) + 70).to.be.at.most(limit);
    // The agent collects its garbage when it goes idle (src/agent/idle-gc.ts) only with gc exposed.
    expect(options.split(/\s+/), 'NODE_OPTIONS=... --expose-gc').to.include('--expose-gc');
    // Few malloc arenas: less RSS outside the V8 heap after bursts of reconciles (bench/README.md).
    const arenas = agent.env?.find((e) => e.name === 'MALLOC_ARENA_MAX')?.value;
    expect(Number(arenas), 'MALLOC_ARENA_MAX').to.be.within(1, 4);
  });

  it('runs as root with NET_ADMIN alone, no escalation, a read-only root and RuntimeDefault seccomp', () => {
    const s = agent.securityContext;
    expect(s?.runAsUser).to.equal(0);
    expect(s?.privileged ?? false).to.equal(false);
    expect(s?.allowPrivilegeEscalation).to.equal(false);
    expect(s?.readOnlyRootFilesystem).to.equal(true);
    expect(s?.capabilities?.drop).to.deep.equal(['ALL']);
    expect(s?.capabilities?.add).to.deep.equal(['NET_ADMIN']);
    expect(s?.seccompProfile?.type).to.equal('RuntimeDefault');
  });

  it('mounts /sys read-only', () => {
    const sys = agent.volumeMounts?.find((m) => m.mountPath === '/sys');
    expect(sys?.readOnly).to.equal(true);
    expect(pod.volumes?.find((v) => v.name === sys!.name)?.hostPath?.path).to.equal('/sys');
  });

  it('runs under the ServiceAccount the RBAC binds', async () => {
    const sa = await one('ServiceAccount');
    expect(pod.serviceAccountName).to.equal(sa.metadata.name);
    const binding = (await one('ClusterRoleBinding')) as unknown as {
      subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(binding.subjects).to.deep.include({
      kind: 'ServiceAccount',
      name: sa.metadata.name,
      namespace: sa.metadata.namespace,
    });
  });
});
