// A client configuration the agent cannot use (a bad kubeconfig, no configuration at all): the CLI
// prints its one-line message and exits 2, as for a usage error. Kept free of imports so that the
// CLI can recognise it without loading the Kubernetes client.

export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
}
