// Builders for the Rust side's types, for tests.

import type { AlertRow, ServerView } from '../generated/types';
import type { TestView } from './fakelist';

let clock = Date.parse('2026-11-24T14:00:00Z');

export function at(offsetSeconds: number): string {
  return new Date(clock + offsetSeconds * 1000).toISOString();
}

export function alert(id: string, change: Partial<AlertRow> = {}): AlertRow {
  clock += 1000;
  const now = new Date(clock).toISOString();
  return {
    server: 'http://127.0.0.1:8080',
    id,
    profile: 'station-reports',
    kind: 'report',
    title: `Report ${id}`,
    body: 'Station 4 · Main St',
    priority: 'normal',
    assigned_to_me: false,
    first_received_at: now,
    received_at: now,
    status: null,
    server_time: null,
    notified_at: null,
    read_at: null,
    acknowledged_at: null,
    update_count: 0,
    responses: [],
    ...change,
  };
}

export function server(change: Partial<ServerView> = {}): ServerView {
  return {
    label: 'Station 4',
    profile: 'station-reports',
    server: 'http://127.0.0.1:8080',
    demo: false,
    scripted: false,
    link: { status: 'live' },
    since: at(0),
    down_since: null,
    latency_ms: 3,
    unread: 0,
    ...change,
  };
}

export function snapshot(change: Partial<TestView> = {}): { type: 'snapshot' } & TestView {
  return {
    type: 'snapshot',
    servers: [server()],
    alerts: [],
    list: null,
    gaps: [],
    unread: 0,
    notifications: { mode: 'normal' },
    notify_failure: null,
    restoring: null,
    ...change,
  };
}

export function batch(change: Partial<TestView> = {}): { type: 'batch' } & TestView {
  return {
    type: 'batch',
    alerts: [],
    list: null,
    servers: [server()],
    gaps: [],
    unread: 0,
    notifications: { mode: 'normal' },
    notify_failure: null,
    restoring: null,
    ...change,
  };
}
