// Builders for the Rust side's types, for tests.

import type { PaneChange, SettingsPane } from '../generated/settings';
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
    managed: false,
    link: { status: 'live' },
    since: at(0),
    down_since: null,
    latency_ms: 3,
    unread: 0,
    unencrypted: false,
    ca_file: null,
    session: null,
    sign_in: { profile: 'station-reports', username: 'officer', vars: { station_id: '4' } },
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

export function settingsPane(change: Partial<SettingsPane> = {}): SettingsPane {
  return {
    on_duty: true,
    quiet_hours: null,
    volume: 80,
    speak_critical: false,
    autostart: false,
    theme: 'system',
    locked: [],
    from_department: [],
    problems: [],
    ...change,
  };
}

/** `pane` with `change` made, as the Rust side answers a change it took. */
export function changed(pane: SettingsPane, change: PaneChange): SettingsPane {
  return { ...pane, [change.key]: change.value };
}
