// One WATCH request through the client library's Watch class (its HTTP, TLS and auth): each
// event ({"type", "object"}) is handed to `onEvent`. `onDone` is called once: null when the
// server ends the stream, an ApiError for a non-200 answer (its status: 410 means "re-list") or
// a broken connection. Aborting ends it without a call.

import { STATUS_CODES } from 'node:http';
import * as k8s from '@kubernetes/client-node/dist/watch.js';
import { ApiError } from './api-request.js';
import type { ClientConfig } from './client-config.js';

export type WatchQuery = Record<string, string | number | boolean | undefined>;

function watchError(path: string, err: unknown): ApiError {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number')
    return new ApiError(status, '', `WATCH ${path}: ${status} ${STATUS_CODES[status] ?? 'error'}`);
  const text = err instanceof Error ? err.message : String(err);
  return new ApiError(0, 'Transport', `WATCH ${path}: ${text.split('\n')[0]!}`);
}

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
  const params: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params[k] = v;
  new k8s.Watch(cfg.kubeConfig)
    .watch(
      path,
      params,
      (type: string, object: unknown) => {
        if (!done && !abort.signal.aborted) onEvent(type, object);
      },
      (err: unknown) => finish(err ? watchError(path, err) : null),
    )
    .then(
      (controller) => {
        // The library hands out its controller once the answer's headers arrived. A watch given
        // up before that (a stalled server) is dropped here: its events and its end are ignored.
        if (abort.signal.aborted) controller.abort();
        else abort.signal.addEventListener('abort', () => controller.abort(), { once: true });
      },
      (err: unknown) => finish(watchError(path, err)),
    );
  return abort;
}
