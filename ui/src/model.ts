// The UI's state: what the Rust side sent (snapshots and batches), and what the user chose to see. Pure: no DOM,
// so it is unit-tested on its own. The Rust side owns the truth; this only orders and filters it for display.

import type {
  AlertRow,
  DeskEvent,
  GapView,
  Kind,
  NotificationsView,
  Priority,
  Progress,
  ServerView,
  View,
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
  notify_failure: string | null = null;
  /** The saved servers being connected after start, while they are. */
  restoring: Progress | null = null;
  /** True once the first snapshot arrived. */
  loaded = false;
  filters: Filters = { ...NO_FILTERS };
  private cache: Item[] | null = null;
  /** Every alert key, newest first by first arrival (which never changes for a key): kept sorted as alerts
   *  arrive, so drawing the list never sorts 10,000 alerts again. */
  private order: string[] = [];

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

  private applySnapshot(s: View): void {
    this.alerts = new Map(s.alerts.map((a) => [keyOf(a), a]));
    this.order = [...this.alerts.values()].sort(byArrival).map(keyOf);
    this.gaps = s.gaps;
    this.servers = s.servers;
    this.unread = s.unread;
    this.notifications = s.notifications;
    this.notify_failure = s.notify_failure;
    this.restoring = s.restoring ?? null;
    this.loaded = true;
  }

  private applyBatch(b: View): void {
    for (const alert of b.alerts) {
      const key = keyOf(alert);
      if (!this.alerts.has(key)) this.insertOrdered(key, alert.first_received_at);
      this.alerts.set(key, alert);
    }
    if (this.alerts.size > LIST_LIMIT) this.trim();
    this.gaps = [...b.gaps, ...this.gaps];
    this.servers = b.servers;
    this.unread = b.unread;
    this.notifications = b.notifications;
    this.notify_failure = b.notify_failure;
    this.restoring = b.restoring ?? null;
  }

  /** Binary search for the place of a new key (newest first); new alerts usually go to the very top. */
  private insertOrdered(key: string, at: string): void {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.alerts.get(this.order[mid])?.first_received_at ?? '';
      if (other > at) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, key);
  }

  /** Drops the oldest read alerts beyond the limit (unread ones stay until read). */
  private trim(): void {
    for (let i = this.order.length - 1; i >= 0 && this.alerts.size > LIST_LIMIT; i--) {
      const key = this.order[i];
      if (this.alerts.get(key)?.read_at !== null) {
        this.alerts.delete(key);
        this.order.splice(i, 1);
      }
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
    const filtering = text !== '' || f.kind !== '' || f.minPriority !== '' || f.unreadOnly;
    const gaps = filtering
      ? []
      : this.gaps
          .filter((g) => !f.server || g.server === f.server)
          .map((gap) => ({ at: gap.to ?? gap.from, gap }))
          .sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
    const pinned: Item[] = [];
    const rest: Item[] = [];
    let g = 0;
    for (const key of this.order) {
      const a = this.alerts.get(key);
      if (!a) continue;
      if (f.server && a.server !== f.server) continue;
      if (f.kind && a.kind !== f.kind) continue;
      if (f.minPriority && RANK[a.priority] < RANK[f.minPriority]) continue;
      if (f.unreadOnly && a.read_at !== null) continue;
      if (text && !matches(a, text, this.serverLabel(a.server))) continue;
      if (a.assigned_to_me && a.acknowledged_at === null) {
        pinned.push({ type: 'alert', key, alert: a, pinned: true });
        continue;
      }
      // Gaps newer than this alert go before it.
      while (g < gaps.length && gaps[g].at > a.first_received_at) rest.push(gapItem(gaps[g++].gap));
      rest.push({ type: 'alert', key, alert: a, pinned: false });
    }
    while (g < gaps.length) rest.push(gapItem(gaps[g++].gap));
    this.cache = [...pinned, ...rest];
    return this.cache;
  }

  /** Servers whose credentials were refused (or that have no token), or whose sign-in ends and cannot be
   *  renewed: they need "sign in again". */
  needsSignIn(): ServerView[] {
    return this.servers.filter((s) => s.link.status === 'auth_failed' || s.session?.ending === true);
  }
}

function gapItem(gap: GapView): Item {
  return { type: 'gap', key: `gap\u0000${gap.server}\u0000${gap.from}`, gap };
}

function byArrival(x: AlertRow, y: AlertRow): number {
  return x.first_received_at < y.first_received_at ? 1 : x.first_received_at > y.first_received_at ? -1 : 0;
}

function matches(a: AlertRow, text: string, serverLabel: string): boolean {
  return (
    a.title.toLowerCase().includes(text) ||
    a.body.toLowerCase().includes(text) ||
    a.id.toLowerCase().includes(text) ||
    serverLabel.toLowerCase().includes(text)
  );
}
