// The API client configuration, chosen as client-go's BuildConfigFromFlags and upstream do:
// `--kubeconfig`, else the KUBECONFIG file, else the in-cluster service account; `--master`
// overrides the server of whichever was chosen, and alone (no file) it is the whole configuration.
//
// The common cases (in-cluster, --master, kubeconfigs with a token, token file, client
// certificate or basic auth) are read here. A kubeconfig whose user runs an `exec` plugin or an
// `auth-provider`, or whose cluster goes through a proxy, is handed to the client library's
// KubeConfig instead, loaded only then: importing it costs ~25 MiB of live heap, ~65 MiB of RSS
// and over 1 s of start-up (its generated API classes), a third of the agent's budget.

import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIPv6 } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { ClientConfigError } from './config-error.js';
import { errorText } from '../../util/log.js';

export interface ClientConfigOptions {
  kubeconfig?: string;
  master?: string;
}

/** Where and how to reach the API server. */
export interface ClientConfig {
  /** Base URL, e.g. https://10.96.0.1:443. */
  readonly server: string;
  /** Options for http(s).request: connection agent, TLS material, Authorization header. */
  requestOptions(): Promise<https.RequestOptions>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Bound service-account tokens rotate: read the file again after this long. */
const TOKEN_REREAD_MS = 60_000;

type Raw = Record<string, unknown>;

function rec(v: unknown): Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function named(list: unknown, name: string | undefined, field: string): Raw | undefined {
  if (!Array.isArray(list) || !name) return undefined;
  const hit = list.map(rec).find((e) => e.name === name);
  return hit ? rec(hit[field]) : undefined;
}

/** TLS and auth material from files or inline base64 data. */
interface Material {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure: boolean;
  servername?: string;
  token?: string;
  tokenFile?: string;
  basic?: string;
}

function fileOrData(base: string, file: unknown, data: unknown, what: string): Buffer | undefined {
  const d = str(data);
  if (d) return Buffer.from(d, 'base64');
  const f = str(file);
  if (!f) return undefined;
  try {
    return readFileSync(resolve(base, f));
  } catch (e) {
    throw new ClientConfigError(`cannot read the ${what} ${f}: ${errorText(e)}`);
  }
}

/** A configuration read without the client library. */
class DirectConfig implements ClientConfig {
  private readonly agent: http.Agent;
  private token?: { value: string; at: number };

  constructor(
    readonly server: string,
    private readonly m: Material,
  ) {
    const plain = server.startsWith('http:');
    this.agent = plain
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({
          keepAlive: true,
          ca: m.ca,
          cert: m.cert,
          key: m.key,
          rejectUnauthorized: !m.insecure,
          servername: m.servername,
        });
  }

  private bearer(): string | undefined {
    if (this.m.token) return this.m.token;
    if (!this.m.tokenFile) return undefined;
    const now = Date.now();
    if (!this.token || now - this.token.at > TOKEN_REREAD_MS) {
      this.token = { value: readFileSync(this.m.tokenFile, 'utf8').trim(), at: now };
    }
    return this.token.value;
  }

  async requestOptions(): Promise<https.RequestOptions> {
    const headers: Record<string, string> = {};
    const token = this.bearer();
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (this.m.basic) headers.Authorization = `Basic ${Buffer.from(this.m.basic).toString('base64')}`;
    return { agent: this.agent, headers };
  }
}

/** A kubeconfig only the client library can serve (exec plugins, auth providers, proxies). */
class LibraryConfig implements ClientConfig {
  private kc?: Promise<{ applyToHTTPSOptions(o: https.RequestOptions): Promise<void> }>;

  constructor(
    readonly server: string,
    private readonly file: string,
  ) {}

  private load() {
    this.kc ??= import('@kubernetes/client-node').then((k8s) => {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(this.file);
      const current = kc.getCurrentCluster()!;
      // Plain http has no certificate to verify; the library refuses it unless told to skip.
      const cluster = {
        ...current,
        server: this.server,
        skipTLSVerify: current.skipTLSVerify || this.server.startsWith('http:'),
      };
      kc.clusters = kc.clusters.map((c) => (c.name === current.name ? cluster : c));
      return kc;
    });
    return this.kc;
  }

  async requestOptions(): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {};
    await (await this.load()).applyToHTTPSOptions(opts);
    return opts;
  }
}

function checkServer(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ClientConfigError(`API server address ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ClientConfigError(`API server address ${server} is neither http:// nor https://`);
  return server.replace(/\/+$/, '');
}

function fromKubeconfig(file: string, from: string, master: string | undefined): ClientConfig {
  let doc: Raw;
  try {
    doc = rec(parse(readFileSync(file, 'utf8')));
  } catch (e) {
    throw new ClientConfigError(`cannot read kubeconfig ${file} (${from}): ${errorText(e)}`);
  }
  const context = named(doc.contexts, str(doc['current-context']), 'context');
  const cluster = named(doc.clusters, str(context?.cluster), 'cluster');
  const user = named(doc.users, str(context?.user), 'user') ?? {};
  if (!context || !cluster)
    throw new ClientConfigError(`kubeconfig ${file} (${from}) has no current context with a cluster`);
  const serverText = master ?? str(cluster.server);
  if (!serverText)
    throw new ClientConfigError(`kubeconfig ${file} (${from}): the current cluster has no server`);
  const server = checkServer(serverText);
  if (user.exec !== undefined || user['auth-provider'] !== undefined || cluster['proxy-url'] !== undefined)
    return new LibraryConfig(server, file);
  const base = dirname(resolve(file));
  const username = str(user.username);
  return new DirectConfig(server, {
    ca: fileOrData(base, cluster['certificate-authority'], cluster['certificate-authority-data'], 'CA'),
    cert: fileOrData(base, user['client-certificate'], user['client-certificate-data'], 'client certificate'),
    key: fileOrData(base, user['client-key'], user['client-key-data'], 'client key'),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    servername: str(cluster['tls-server-name']),
    token: str(user.token),
    tokenFile: str(user.tokenFile) ? resolve(base, str(user.tokenFile)!) : undefined,
    basic: username ? `${username}:${str(user.password) ?? ''}` : undefined,
  });
}

function inCluster(env: NodeJS.ProcessEnv, master: string | undefined): ClientConfig {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = checkServer(master ?? `https://${isIPv6(host) ? `[${host}]` : host}:${port}`);
  let ca: Buffer;
  try {
    ca = readFileSync(`${SERVICE_ACCOUNT}/ca.crt`);
  } catch (e) {
    throw new ClientConfigError(`cannot read the in-cluster configuration: ${errorText(e)}`);
  }
  return new DirectConfig(server, { ca, insecure: false, tokenFile: `${SERVICE_ACCOUNT}/token` });
}

export function loadClientConfig(o: ClientConfigOptions, env = process.env): ClientConfig {
  const fromEnv = env.KUBECONFIG?.split(':').find((f) => f.length > 0);
  if (o.kubeconfig) return fromKubeconfig(o.kubeconfig, '--kubeconfig', o.master);
  if (fromEnv) return fromKubeconfig(fromEnv, 'KUBECONFIG', o.master);
  if (o.master) return new DirectConfig(checkServer(o.master), { insecure: false });
  if (env.KUBERNETES_SERVICE_HOST) return inCluster(env, o.master);
  throw new ClientConfigError(
    'no API client configuration: pass --kubeconfig or --master, set KUBECONFIG, or run in a pod',
  );
}
