// Problems with objects as Kubernetes Events (events.k8s.io/v1), so that `kubectl describe` shows
// them on the object. Each problem has a deterministic Event name (node, object, field, message):
// the first report creates it; a later report of the same problem (after an agent restart)
// finds it (409 AlreadyExists) and counts it in `series` instead of posting another Event.
// Verbs used: create, get, patch on events.k8s.io events.

import { createHash } from 'node:crypto';
import type { ClientConfig } from './client-config.js';
import { ApiError, apiRequest } from './api-request.js';
import type { Problem } from '../problem.js';
import { errorText, log } from '../../util/log.js';

/** What an Event's `regarding` names: the object a problem is about. */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export const REPORTING_CONTROLLER = 'multi-networkpolicy-tc';
const MAX_QUEUED = 500;

interface EventSeries {
  count?: number;
}

interface StoredEvent {
  series?: EventSeries;
}

/** MicroTime as the API server expects it: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function eventsPath(namespace: string, name?: string): string {
  return `/apis/events.k8s.io/v1/namespaces/${namespace}/events${name ? `/${name}` : ''}`;
}

export class EventRecorder {
  private readonly queue: (() => Promise<void>)[] = [];
  private running = false;
  private dropped = false;
  private stopped = false;

  constructor(
    private readonly kc: ClientConfig,
    private readonly node: string,
    /** The object a problem names ("Kind ns/name"), with its uid; undefined: not in the caches. */
    private readonly resolve: (object: string) => ObjectReference | undefined,
  ) {}

  report(p: Problem): void {
    if (this.stopped) return;
    const ref = this.resolve(p.object);
    if (!ref) return;
    if (this.queue.length >= MAX_QUEUED) {
      if (!this.dropped) log.warn(`more than ${MAX_QUEUED} Events waiting to be posted; dropping the rest`);
      this.dropped = true;
      return;
    }
    this.queue.push(() => this.post(ref, p));
    void this.drain();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  /** Posts one Event at a time: a burst of problems never floods the API server. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let next = this.queue.shift(); next && !this.stopped; next = this.queue.shift()) {
        try {
          await next();
        } catch (e) {
          log.warn(`could not post an Event: ${errorText(e)}`);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async post(ref: ObjectReference, p: Problem): Promise<void> {
    const namespace = ref.namespace ?? 'default';
    const hash = createHash('sha256')
      .update(`${this.node}\n${p.object}\n${p.path}\n${p.message}`)
      .digest('hex')
      .slice(0, 16);
    const name = `${ref.name.slice(0, 200)}.${hash}`;
    const now = microTime(new Date());
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: now,
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: `${REPORTING_CONTROLLER}-${this.node}`,
      action: 'Validate',
      reason: p.severity === 'error' ? 'InvalidPolicyInput' : 'PolicyInputWarning',
      type: 'Warning',
      note: `${p.path ? `${p.path}: ` : ''}${p.message}; ${p.effect}`.slice(0, 1000),
      regarding: ref,
    };
    try {
      await apiRequest(this.kc, { method: 'POST', path: eventsPath(namespace), body });
      return;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 409) throw e;
    }
    // Posted before (an earlier run of this agent): count it.
    const old = await apiRequest<StoredEvent>(this.kc, { method: 'GET', path: eventsPath(namespace, name) });
    const count = (old.series?.count ?? 1) + 1;
    await apiRequest(this.kc, {
      method: 'PATCH',
      path: eventsPath(namespace, name),
      contentType: 'application/merge-patch+json',
      body: { series: { count, lastObservedTime: now } },
    });
  }
}
