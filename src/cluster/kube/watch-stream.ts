// One WATCH request: a chunked HTTP response of JSON lines ({"type", "object"}), each handed to
// `onEvent`. `onDone` is called once: null when the server ends the stream, an ApiError for a
// non-200 answer (its status: 410 means "re-list") or a broken connection. Aborting ends it
// without a call.

import * as http from 'node:http';
import * as https from 'node:https';
import { ApiError, apiUrl, statusMessage } from './api-request.js';
import type { ClientConfig } from './client-config.js';

export type WatchQuery = Record<string, string | number | boolean | undefined>;

export function openWatch(
  cfg: ClientConfig,
  path: string,
  query: WatchQuery,
  onEvent: (type: string, object: unknown) => void,
  onDone: (err: ApiError | null) => void,
): AbortController {
  const abort = new AbortController();
  let done = false;
  const finish = (err: ApiError | null) => {
    if (done || abort.signal.aborted) return;
    done = true;
    abort.abort();
    onDone(err);
  };
  const url = apiUrl(cfg, path, { ...query, watch: true });
  const broken = (e: Error) => finish(new ApiError(0, 'Transport', `WATCH ${url.pathname}: ${e.message}`));
  void cfg.requestOptions().then((opts) => {
    if (abort.signal.aborted) return;
    const headers: Record<string, string> = { Accept: 'application/json' };
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    const request = url.protocol === 'http:' ? http.request : https.request;
    const req = request(url, { ...opts, method: 'GET', headers }, (res) => {
      const status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      if (status !== 200) {
        let text = '';
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const s = statusMessage(status, text);
          finish(new ApiError(status, s.reason, `WATCH ${url.pathname}: ${status} ${s.message}`));
        });
        res.on('error', broken);
        return;
      }
      let buffered = '';
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl = buffered.indexOf('\n');
        while (nl >= 0 && !done) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) {
            let event: { type?: unknown; object?: unknown } | undefined;
            try {
              event = JSON.parse(line) as { type?: unknown; object?: unknown };
            } catch {
              finish(new ApiError(0, 'BadStream', `WATCH ${url.pathname}: a line is not JSON`));
              return;
            }
            if (typeof event.type === 'string') onEvent(event.type, event.object);
          }
          nl = buffered.indexOf('\n');
        }
      });
      res.on('end', () => finish(null));
      res.on('error', broken);
      res.on('close', () => finish(null));
    });
    req.on('error', broken);
    // Errors after an abort land in `broken`, which ignores them.
    abort.signal.addEventListener('abort', () => req.destroy(), { once: true });
    req.end();
  }, broken);
  return abort;
}
