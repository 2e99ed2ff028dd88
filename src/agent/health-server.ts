// /healthz, /readyz and /metrics on --metrics-bind-address, as Kubernetes probes and Prometheus
// expect. ":9810" listens on every address, "127.0.0.1:9810" on one, "0" not at all.

import { createServer, type Server } from 'node:http';
import type { AgentMetrics } from './agent-metrics.js';

export interface HealthState {
  /** The loop is alive: not stuck in one reconcile. */
  healthy(): boolean;
  /** Synced, and the last reconcile succeeded or is backing off within bounds; else why not. */
  notReadyReason(): string | undefined;
}

export function parseBindAddress(v: string): { host?: string; port: number } | undefined {
  if (v === '0' || v === '') return undefined;
  const m = /^(?:\[?([^\]]*)\]?)?:(\d+)$/.exec(v);
  if (!m) throw new Error(`--metrics-bind-address: expected [host]:port or 0, got ${JSON.stringify(v)}`);
  const port = Number(m[2]);
  if (port < 0 || port > 65535) throw new Error(`--metrics-bind-address: bad port ${m[2]}`);
  return m[1] ? { host: m[1], port } : { port };
}

export async function startHealthServer(
  address: { host?: string; port: number },
  state: HealthState,
  metrics: AgentMetrics,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    if (path === '/healthz') {
      if (state.healthy()) text(200, 'ok\n');
      else text(500, 'the reconcile loop is stuck\n');
    } else if (path === '/readyz') {
      const why = state.notReadyReason();
      metrics.setReady(why === undefined);
      if (why === undefined) text(200, 'ok\n');
      else text(503, `not ready: ${why}\n`);
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => text(200, body, metrics.registry.contentType),
        (e: unknown) => text(500, `${String(e)}\n`),
      );
    } else text(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  server.unref();
  return server;
}
