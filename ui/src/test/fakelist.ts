// A stand-in for the Rust side's list (src-tauri/core/src/engine/list.rs), for the UI's tests: it keeps the rows
// a test's snapshots and batches carry, answers `list_window` from them in the same order (unacknowledged
// assignments to me first, then newest first by first arrival, gaps where they happened), and pushes the window
// again with each batch, as the engine does.

import type { AlertRow, DeskEvent, GapView, ListItem, ListRequest, ListWindow, View, WindowItem } from '../generated/types';
import { keyOf } from '../model';

/** A snapshot or batch as tests write them: the rows (and gaps) the Rust side would hold. */
export type TestView = Omit<View, 'changed'> & { alerts?: AlertRow[]; gaps?: GapView[] };
export type TestEvent =
  | Exclude<DeskEvent, { type: 'snapshot' | 'batch' }>
  | ({ type: 'snapshot' | 'batch' } & TestView);

const RANK = { low: 0, normal: 1, high: 2, critical: 3 } as const;

export class FakeList {
  private rows = new Map<string, { row: AlertRow; n: number }>();
  private gaps: GapView[] = [];
  private inserted = 0;
  private revision = 0;
  private last: ListRequest | null = null;
  /** The rows of the last window sent and its revision: a push sends only rows not in it. */
  private sent: { rows: ListItem[]; revision: number } | null = null;
  /** The row kept in view (the request's anchor) and how many rows of the window come before it. */
  private anchor: { key: string; lead: number } | null = null;
  /** Every request the UI made. */
  readonly requests: ListRequest[] = [];

  /** Keeps the event's rows and returns the event as the engine sends it: no rows in a snapshot, the window
   *  again in a batch. */
  take(event: TestEvent): DeskEvent {
    if (event.type !== 'snapshot' && event.type !== 'batch') return event as Exclude<DeskEvent, { type: 'snapshot' | 'batch' }>;
    const { gaps = [], alerts = [], ...view } = event;
    if (event.type === 'snapshot') {
      this.rows.clear();
      this.gaps = [];
    }
    for (const row of alerts) {
      const known = this.rows.get(keyOf(row));
      this.rows.set(keyOf(row), { row, n: known?.n ?? ++this.inserted });
    }
    this.gaps.push(...gaps);
    if (event.type === 'snapshot') return { ...view, type: 'snapshot', changed: [], list: null };
    const changed = alerts.map((a) => ({ server: a.server, id: a.id }));
    return { ...view, type: 'batch', changed, list: this.last ? this.answer(this.last, false) : null };
  }

  /** The answer to `list_window`. */
  window(request: ListRequest): ListWindow {
    this.requests.push(request);
    this.last = request;
    return this.answer(request, true);
  }

  private answer(request: ListRequest, asked: boolean): ListWindow {
    const f = request.filter;
    const text = f.text.trim().toLowerCase();
    const shown = [...this.rows.values()]
      .filter(({ row: a }) => {
        if (f.server && a.server !== f.server) return false;
        if (f.kind && a.kind !== f.kind) return false;
        if (f.min_priority && RANK[a.priority] < RANK[f.min_priority]) return false;
        if (f.unread_only && a.read_at !== null) return false;
        return !text || [a.title, a.body, a.id].some((t) => t.toLowerCase().includes(text));
      })
      .sort((x, y) => (x.row.first_received_at < y.row.first_received_at ? 1 : x.row.first_received_at > y.row.first_received_at ? -1 : y.n - x.n));
    const pinned = (a: AlertRow) => a.assigned_to_me && a.acknowledged_at === null;
    const items: ListItem[] = shown.filter((s) => pinned(s.row)).map((s) => ({ type: 'alert', alert: s.row, pinned: true }));
    const gaps = f.kind || f.min_priority || f.unread_only || text ? [] : this.gaps.filter((g) => !f.server || g.server === f.server);
    const at = (g: GapView) => g.to ?? g.from;
    const pending = [...gaps].sort((x, y) => (at(x) < at(y) ? 1 : -1));
    for (const { row } of shown.filter((s) => !pinned(s.row))) {
      while (pending.length && at(pending[0]) > row.first_received_at) items.push({ type: 'gap', gap: pending.shift()! });
      items.push({ type: 'alert', alert: row, pinned: false });
    }
    for (const gap of pending) items.push({ type: 'gap', gap });
    const keyAt = (i: ListItem) => (i.type === 'alert' ? keyOf(i.alert) : `gap:${i.gap.from}`);
    let offset = request.offset;
    let found: number | null = null;
    if (asked && request.around) {
      const key = keyOf(request.around);
      const index = items.findIndex((i) => keyAt(i) === key);
      if (index >= 0) {
        found = index;
        offset = Math.max(0, index - Math.floor(request.limit / 2));
      }
    }
    if (asked) {
      const top = found ?? request.anchor;
      this.anchor = top > 0 && items[top] ? { key: keyAt(items[top]), lead: top - offset } : null;
    } else if (this.anchor) {
      // Pushed: the window moves with the row kept in view.
      const anchor = this.anchor;
      const index = items.findIndex((i) => keyAt(i) === anchor.key);
      if (index >= 0) offset = Math.max(0, index - anchor.lead);
    }
    const alerts = items.filter((i) => i.type === 'alert').length;
    const rows = items.slice(offset, offset + request.limit);
    let sent: WindowItem[] = rows;
    let base: number | null = null;
    if (!asked && this.sent) {
      const before = this.sent.rows.map((r) => JSON.stringify(r));
      sent = rows.map((r) => {
        const at = before.indexOf(JSON.stringify(r));
        return at < 0 ? r : at;
      });
      base = this.sent.revision;
    }
    const revision = ++this.revision;
    this.sent = { rows, revision };
    return { seq: request.seq, revision, offset, total: items.length, alerts, all: this.rows.size, items: sent, base, found };
  }
}
