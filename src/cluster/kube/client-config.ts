// The API client configuration, chosen as client-go's BuildConfigFromFlags and upstream do:
// `--kubeconfig`, else the KUBECONFIG file, else the in-cluster service account; `--master`
// overrides the server of whichever was chosen, and alone (no file) it is the whole configuration.
//
// The configuration is the client library's KubeConfig in every case: it reads kubeconfigs
// (tokens, token files, client certificates, exec plugins, auth providers, proxies) and the
// service account, and the watches run through its Watch class (watch-stream.ts).

// The library's KubeConfig from the build's copy of its config.js, without the generated API.
import * as k8s from './library-config.js';
import type * as https from 'node:https';
import { ClientConfigError } from './config-error.js';
import { errorText } from '../../util/log.js';

export interface ClientConfigOptions {
  kubeconfig?: string;
  master?: string;
}

/** Where and how to reach the API server. */
export interface ClientConfig {
  /** Base URL without a trailing slash, e.g. https://10.96.0.1:443. */
  readonly server: string;
  /** The client library's configuration (the watches use it directly). */
  readonly kubeConfig: k8s.KubeConfig;
  /** Options for http(s).request: TLS material, Authorization header, proxy agent. */
  requestOptions(): Promise<https.RequestOptions>;
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

function loadFile(kc: k8s.KubeConfig, file: string, from: string): void {
  try {
    kc.loadFromFile(file);
  } catch (e) {
    throw new ClientConfigError(`cannot read kubeconfig ${file} (${from}): ${errorText(e).split('\n')[0]!}`);
  }
  if (!kc.getCurrentCluster())
    throw new ClientConfigError(`kubeconfig ${file} (${from}) has no current context with a cluster`);
}

function libraryConfig(kc: k8s.KubeConfig, master: string | undefined): ClientConfig {
  const current = kc.getCurrentCluster()!;
  const server = checkServer(master ?? current.server);
  // Plain http has no certificate to verify; the library refuses it unless told to skip the check.
  const cluster = { ...current, server, skipTLSVerify: current.skipTLSVerify || server.startsWith('http:') };
  kc.clusters = kc.clusters.map((c) => (c.name === current.name ? cluster : c));
  return {
    server,
    kubeConfig: kc,
    async requestOptions() {
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      return opts;
    },
  };
}

export function loadClientConfig(o: ClientConfigOptions, env = process.env): ClientConfig {
  const kc = new k8s.KubeConfig();
  const fromEnv = env.KUBECONFIG?.split(':').find((f) => f.length > 0);
  if (o.kubeconfig) loadFile(kc, o.kubeconfig, '--kubeconfig');
  else if (fromEnv) loadFile(kc, fromEnv, 'KUBECONFIG');
  else if (o.master)
    kc.loadFromClusterAndUser(
      { name: 'master', server: checkServer(o.master), skipTLSVerify: false },
      { name: 'anonymous' },
    );
  else if (env.KUBERNETES_SERVICE_HOST) {
    try {
      kc.loadFromCluster();
    } catch (e) {
      throw new ClientConfigError(`cannot read the in-cluster configuration: ${errorText(e)}`);
    }
  } else {
    throw new ClientConfigError(
      'no API client configuration: pass --kubeconfig or --master, set KUBECONFIG, or run in a pod',
    );
  }
  return libraryConfig(kc, o.master);
}
