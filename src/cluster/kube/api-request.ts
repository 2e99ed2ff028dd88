// One JSON request to the API server, with the connection agent, TLS material and Authorization
// header of the client configuration. The body is parsed as plain JSON, without the client
// library's model classes: the agent keeps only a few fields of each object.

import * as http from 'node:http';
import * as https from 'node:https';
import type { ClientConfig } from './client-config.js';

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

export function apiUrl(cfg: ClientConfig, path: string, query: ApiRequest['query'] = {}): URL {
  const url = new URL(cfg.server + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

export function statusMessage(status: number, text: string): { reason: string; message: string } {
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
export async function apiRequest<T>(cfg: ClientConfig, r: ApiRequest): Promise<T> {
  const url = apiUrl(cfg, r.path, r.query);
  const opts = await cfg.requestOptions();
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
