// The client configuration as client-go's BuildConfigFromFlags: --kubeconfig, then KUBECONFIG,
// then in-cluster; --master overrides the server and alone is enough, plain http:// included.

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientConfig } from '../../../../src/cluster/kube/client-config.js';
import { ClientConfigError } from '../../../../src/cluster/kube/config-error.js';
import { apiRequest } from '../../../../src/cluster/kube/api-request.js';
import { KubeTestServer } from '../../../support/kube-test-server.js';

function kubeconfig(server: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster: { server: "${server}" }
users:
  - name: u
    user: { token: secret-token }
contexts:
  - name: ctx
    context: { cluster: c, user: u }
current-context: ctx
`;
}

describe('loadClientConfig', () => {
  let dir: string;
  let server: KubeTestServer;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    server = await new KubeTestServer().start();
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  });
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('--master http://HOST:PORT alone: a working client without any kubeconfig', async () => {
    const kc = loadClientConfig({ master: server.url }, {});
    const list = await apiRequest<{ kind: string }>(kc, { method: 'GET', path: '/api/v1/pods' });
    expect(list.kind).to.equal('PodList');
  });

  it('--master overrides the server of the kubeconfig and keeps its credentials', async () => {
    const cfg = loadClientConfig(
      { kubeconfig: file('a', kubeconfig('https://elsewhere:6443')), master: server.url },
      {},
    );
    expect(cfg.server).to.equal(server.url);
    expect((await cfg.requestOptions()).headers).to.deep.equal({ Authorization: 'Bearer secret-token' });
    await apiRequest(cfg, { method: 'GET', path: '/api/v1/nodes' });
    expect(server.requests.at(-1)!.path).to.equal('/api/v1/nodes');
    expect(server.requests.at(-1)!.authorization).to.equal('Bearer secret-token');
  });

  it('--kubeconfig first, then KUBECONFIG, then in-cluster', () => {
    const a = file('a', kubeconfig('https://a:6443'));
    const b = file('b', kubeconfig('https://b:6443'));
    expect(loadClientConfig({ kubeconfig: a }, { KUBECONFIG: b }).server).to.equal('https://a:6443');
    expect(loadClientConfig({}, { KUBECONFIG: b, KUBERNETES_SERVICE_HOST: '10.0.0.1' }).server).to.equal(
      'https://b:6443',
    );
  });

  it('an exec-plugin kubeconfig is served by the client library', async () => {
    const text = kubeconfig(server.url).replace(
      'user: { token: secret-token }',
      'user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: echo, args: ["{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"from-exec\\"}}"], interactiveMode: Never } }',
    );
    const cfg = loadClientConfig({ kubeconfig: file('exec', text) }, {});
    await apiRequest(cfg, { method: 'GET', path: '/api/v1/pods' });
    expect(server.requests.at(-1)!.authorization).to.equal('Bearer from-exec');
  });

  it('a missing or broken kubeconfig, or none at all, is one clear line', () => {
    const bad = [
      () => loadClientConfig({ kubeconfig: join(dir, 'missing') }, {}),
      () => loadClientConfig({ kubeconfig: file('broken', 'clusters: [oops') }, {}),
      () => loadClientConfig({ kubeconfig: file('empty', 'apiVersion: v1\nkind: Config\n') }, {}),
      () => loadClientConfig({}, {}),
      () => loadClientConfig({ master: 'not a url' }, {}),
    ];
    for (const f of bad) {
      expect(f).to.throw(ClientConfigError);
      try {
        f();
      } catch (e) {
        expect((e as Error).message).to.not.include('\n');
      }
    }
  });
});
