// The UI's state: what the Rust side sent (snapshots and batches), and what the user chose to see. Pure: no DOM,
// so it is unit-tested on its own. The Rust side owns the truth; this only orders and filters it for display.

import type {
  AlertRow,
  Batch,
  DeskEvent,
  GapView,
  Kind,
  NotificationsView,
  Priority,
  ServerView,
  Snapshot,
} from './generated/types';

/** The list holds at most this many alerts (the Rust side's LIST_LIMIT); older ones stay in the history. */
export const LIST_LIMIT = 10_000;

export const PRIORITIES: Priority[] = ['critical', 'high', 'normal', 'low'];
export const KINDS: Kind[] = ['report', 'assignment', 'update', 'alert', 'info'];

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, critical: 3 };

export function keyOf(a: { server: string; id: string }): string {
  return `${a.server}\u0000${a.id}`;
}

export interface Filters {
  server: string; // '' = all
  kind: Kind | '';
  /** Only this priority and above. */
  minPriority: Priority | '';
  unreadOnly: boolean;
  text: string;
}

export const NO_FILTERS: Filters = { server: '', kind: '', minPriority: '', unreadOnly: false, text: '' };

/** One line of the list: an alert, or a gap notice placed where it happened. */
export type Item =
  | { type: 'alert'; key: string; alert: AlertRow; pinned: boolean }
  | { type: 'gap'; key: string; gap: GapView };

export class Model {
  alerts = new Map<string, AlertRow>();
  gaps: GapView[] = [];
  servers: ServerView[] = [];
  unread = 0;
  notifications: NotificationsView = { mode: 'normal' };
  notifyFailure: string | null = null;
  /** True once the first snapshot arrived. */
  loaded = false;
  filters: Filters = { ...NO_FILTERS };
  private cache: Item[] | null = null;

  apply(event: DeskEvent): void {
    switch (event.type) {
      case 'snapshot':
        this.applySnapshot(event);
        break;
      case 'batch':
        this.applyBatch(event);
        break;
      default:
        return; // focus and notices are handled by the view
    }
    this.cache = null;
  }

  private applySnapshot(s: Snapshot): void {
    this.alerts = new Map(s.alerts.map((a) => [keyOf(a), a]));
    this.gaps = s.gaps;
    this.servers = s.servers;
    this.unread = s.unread;
    this.notifications = s.notifications;
    this.notifyFailure = s.notifyFailure;
    this.loaded = true;
  }

  private applyBatch(b: Batch): void {
    for (const alert of b.alerts) this.alerts.set(keyOf(alert), alert);
    if (this.alerts.size > LIST_LIMIT) this.trim();
    this.gaps = [...b.gaps, ...this.gaps];
    this.servers = b.servers;
    this.unread = b.unread;
    this.notifications = b.notifications;
    this.notifyFailure = b.notifyFailure;
  }

  /** Drops the oldest read alerts beyond the limit (unread ones stay until read). */
  private trim(): void {
    const oldestFirst = [...this.alerts.values()].sort(byArrival).reverse();
    for (const a of oldestFirst) {
      if (this.alerts.size <= LIST_LIMIT) break;
      if (a.readAt !== null) this.alerts.delete(keyOf(a));
    }
  }

  setFilters(change: Partial<Filters>): void {
    this.filters = { ...this.filters, ...change };
    this.cache = null;
  }

  /** Changes made here ahead of the Rust side's confirmation (opening a row marks it read at once). */
  patch(key: string, change: Partial<AlertRow>): void {
    const alert = this.alerts.get(key);
    if (!alert) return;
    this.alerts.set(key, { ...alert, ...change });
    this.cache = null;
  }

  serverLabel(server: string): string {
    return this.servers.find((s) => s.server === server)?.label ?? server;
  }

  /** What the list shows, in order: unacknowledged assignments to me first, then newest first, gaps in between. */
  items(): Item[] {
    if (this.cache) return this.cache;
    const f = this.filters;
    const text = f.text.trim().toLowerCase();
    const pinned: Item[] = [];
    const rest: Array<{ at: string; item: Item }> = [];
    for (const [key, a] of this.alerts) {
      if (f.server && a.server !== f.server) continue;
      if (f.kind && a.kind !== f.kind) continue;
      if (f.minPriority && RANK[a.priority] < RANK[f.minPriority]) continue;
      if (f.unreadOnly && a.readAt !== null) continue;
      if (text && !matches(a, text, this.serverLabel(a.server))) continue;
      if (a.assignedToMe && a.acknowledgedAt === null) {
        pinned.push({ type: 'alert', key, alert: a, pinned: true });
      } else {
        rest.push({ at: a.firstReceivedAt, item: { type: 'alert', key, alert: a, pinned: false } });
      }
    }
    const filtering = text !== '' || f.kind !== '' || f.minPriority !== '' || f.unreadOnly;
    if (!filtering) {
      for (const gap of this.gaps) {
        if (f.server && gap.server !== f.server) continue;
        const at = gap.to ?? gap.from;
        rest.push({ at, item: { type: 'gap', key: `gap\u0000${gap.server}\u0000${gap.from}`, gap } });
      }
    }
    pinned.sort((x, y) => byArrival((x as { alert: AlertRow }).alert, (y as { alert: AlertRow }).alert));
    rest.sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
    this.cache = [...pinned, ...rest.map((r) => r.item)];
    return this.cache;
  }

  /** Servers whose credentials were refused (or that have no token): they need "sign in again". */
  needsSignIn(): ServerView[] {
    return this.servers.filter((s) => s.link.status === 'auth_failed');
  }
}

function byArrival(x: AlertRow, y: AlertRow): number {
  return x.firstReceivedAt < y.firstReceivedAt ? 1 : x.firstReceivedAt > y.firstReceivedAt ? -1 : 0;
}

function matches(a: AlertRow, text: string, serverLabel: string): boolean {
  return (
    a.title.toLowerCase().includes(text) ||
    a.body.toLowerCase().includes(text) ||
    a.id.toLowerCase().includes(text) ||
    serverLabel.toLowerCase().includes(text)
  );
}
