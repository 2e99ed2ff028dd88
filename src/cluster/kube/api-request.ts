// One JSON request to the API server. Authentication, TLS and the connection agent come from the
// client library's KubeConfig (applyToHTTPSOptions); the body is parsed as plain JSON, without the
// library's model classes, because the agent keeps only a few fields of each object.

import * as http from 'node:http';
import * as https from 'node:https';
import type * as k8s from '@kubernetes/client-node';

/** A failed API call, described in one line: HTTP status and the Status message, never headers. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout (a LIST that never answers is a failure, not a hang). */
  timeoutMs?: number;
}

export function apiUrl(kc: k8s.KubeConfig, path: string, query: ApiRequest['query'] = {}): URL {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ApiError(0, 'NoCluster', 'no current cluster in the client configuration');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

function statusMessage(status: number, text: string): { reason: string; message: string } {
  try {
    const s = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof s.message === 'string')
      return { reason: typeof s.reason === 'string' ? s.reason : '', message: s.message.split('\n')[0]! };
  } catch {
    // Not a Status object: fall through to the HTTP status text.
  }
  return { reason: '', message: http.STATUS_CODES[status] ?? 'error' };
}

/** The parsed JSON answer of a 2xx response; an ApiError otherwise (status 0: no response). */
export async function apiRequest<T>(kc: k8s.KubeConfig, r: ApiRequest): Promise<T> {
  const url = apiUrl(kc, r.path, r.query);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = { Accept: 'application/json' };
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
  if (payload) headers['Content-Type'] = r.contentType ?? 'application/json';
  const request = url.protocol === 'http:' ? http.request : https.request;
  return new Promise<T>((resolve, reject) => {
    const req = request(url, { ...opts, method: r.method, headers, signal: r.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) =>
        reject(new ApiError(0, 'Transport', `${r.method} ${url.pathname}: ${e.message}`)),
      );
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new ApiError(status, 'BadBody', `${r.method} ${url.pathname}: the answer is not JSON`));
          }
          return;
        }
        const s = statusMessage(status, text);
        reject(new ApiError(status, s.reason, `${r.method} ${url.pathname}: ${status} ${s.message}`));
      });
    });
    if (r.timeoutMs !== undefined)
      req.setTimeout(r.timeoutMs, () => req.destroy(new Error(`no answer in ${r.timeoutMs} ms`)));
    req.on('error', (e) => reject(new ApiError(0, 'Transport', `${r.method} ${url.pathname}: ${e.message}`)));
    req.end(payload);
  });
}
