// The UI's state: what the Rust side sent (snapshots and batches), and what the user chose to see. Pure: no DOM,
// so it is unit-tested on its own. The Rust side owns the truth, the list's rows included: it orders and filters
// them and sends the window in view (list.ts), so nothing here grows with the number of alerts.

import type {
  AlertRow,
  DeskEvent,
  GapView,
  Kind,
  ListFilter,
  ListItem,
  NotificationsView,
  Priority,
  Progress,
  ServerView,
  View,
} from './generated/types';

export const PRIORITIES: Priority[] = ['critical', 'high', 'normal', 'low'];
export const KINDS: Kind[] = ['report', 'assignment', 'update', 'alert', 'info'];

export function keyOf(a: { server: string; id: string }): string {
  return `${a.server}\u0000${a.id}`;
}

/** The server and id of an alert's key (`null` for a gap's). */
export function splitKey(key: string): { server: string; id: string } | null {
  if (key.startsWith('gap\u0000')) return null;
  const at = key.indexOf('\u0000');
  return at < 0 ? null : { server: key.slice(0, at), id: key.slice(at + 1) };
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

/** The filters as the Rust side takes them. */
export function listFilter(f: Filters): ListFilter {
  return {
    server: f.server || null,
    kind: f.kind || null,
    min_priority: f.minPriority || null,
    unread_only: f.unreadOnly,
    text: f.text,
  };
}

/** One line of the list: an alert, or a gap notice placed where it happened. */
export type Item =
  | { type: 'alert'; key: string; alert: AlertRow; pinned: boolean }
  | { type: 'gap'; key: string; gap: GapView };

/** A row of a window as the list draws it (with its key). */
export function itemOf(item: ListItem): Item {
  return item.type === 'alert'
    ? { type: 'alert', key: keyOf(item.alert), alert: item.alert, pinned: item.pinned }
    : { type: 'gap', key: `gap\u0000${item.gap.server}\u0000${item.gap.from}`, gap: item.gap };
}

export class Model {
  servers: ServerView[] = [];
  unread = 0;
  notifications: NotificationsView = { mode: 'normal' };
  notify_failure: string | null = null;
  /** The saved servers being connected after start, while they are. */
  restoring: Progress | null = null;
  /** True once the first snapshot arrived. */
  loaded = false;
  filters: Filters = { ...NO_FILTERS };

  apply(event: DeskEvent): void {
    if (event.type !== 'snapshot' && event.type !== 'batch') return; // focus and notices are the view's
    const v: View = event;
    this.servers = v.servers;
    this.unread = v.unread;
    this.notifications = v.notifications;
    this.notify_failure = v.notify_failure;
    this.restoring = v.restoring ?? null;
    if (event.type === 'snapshot') this.loaded = true;
  }

  setFilters(change: Partial<Filters>): void {
    this.filters = { ...this.filters, ...change };
  }

  serverLabel(server: string): string {
    return this.servers.find((s) => s.server === server)?.label ?? server;
  }

  /** Servers whose credentials were refused (or that have no token), or whose sign-in ends and cannot be
   *  renewed: they need "sign in again". */
  needsSignIn(): ServerView[] {
    return this.servers.filter((s) => s.link.status === 'auth_failed' || s.session?.ending === true);
  }
}
