// The API client configuration, chosen as client-go's BuildConfigFromFlags and upstream do:
// `--kubeconfig`, else the KUBECONFIG file, else the in-cluster service account; `--master`
// overrides the server of whichever was chosen, and alone (no file) it is the whole configuration.

import * as k8s from '@kubernetes/client-node';
import { ClientConfigError } from './config-error.js';
import { errorText } from '../../util/log.js';

export interface ClientConfigOptions {
  kubeconfig?: string;
  master?: string;
}

function loadFile(kc: k8s.KubeConfig, file: string, from: string): void {
  try {
    kc.loadFromFile(file);
  } catch (e) {
    throw new ClientConfigError(`cannot read kubeconfig ${file} (${from}): ${errorText(e)}`);
  }
  if (!kc.getCurrentCluster())
    throw new ClientConfigError(`kubeconfig ${file} (${from}) has no current context with a cluster`);
}

export function loadClientConfig(o: ClientConfigOptions, env = process.env): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const fromEnv = env.KUBECONFIG?.split(':').find((f) => f.length > 0);
  if (o.kubeconfig) loadFile(kc, o.kubeconfig, '--kubeconfig');
  else if (fromEnv) loadFile(kc, fromEnv, 'KUBECONFIG');
  else if (o.master)
    kc.loadFromClusterAndUser(
      { name: 'master', server: o.master, skipTLSVerify: false },
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
  const current = kc.getCurrentCluster()!;
  const server = o.master ?? current.server;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ClientConfigError(`API server address ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ClientConfigError(`API server address ${server} is neither http:// nor https://`);
  // Plain http has no certificate to verify; the client refuses it unless told to skip the check.
  const plain = url.protocol === 'http:';
  const cluster = { ...current, server, skipTLSVerify: current.skipTLSVerify || plain };
  kc.clusters = kc.clusters.map((c) => (c.name === current.name ? cluster : c));
  return kc;
}
