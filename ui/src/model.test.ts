import { describe, expect, it } from 'vitest';
import { keyOf, LIST_LIMIT, Model } from './model';
import { alert, batch, snapshot } from './test/fixtures';

function titles(m: Model): string[] {
  return m.items().map((i) => (i.type === 'alert' ? i.alert.id : `gap:${i.gap.from}`));
}

describe('Model', () => {
  it('lists newest first with unacknowledged assignments to me pinned on top', () => {
    const m = new Model();
    const a = alert('a');
    const mine = alert('mine', { assigned_to_me: true, kind: 'assignment' });
    const b = alert('b');
    m.apply(snapshot({ alerts: [b, mine, a], unread: 3 }));
    expect(titles(m)).toEqual(['mine', 'b', 'a']);
    const pinned = m.items()[0];
    expect(pinned.type === 'alert' && pinned.pinned).toBe(true);
    // Acknowledged, it takes its place by time.
    m.apply(batch({ alerts: [{ ...mine, acknowledged_at: mine.received_at }] }));
    expect(titles(m)).toEqual(['b', 'mine', 'a']);
  });

  it('updates rows in place and keeps counts from the Rust side', () => {
    const m = new Model();
    const a = alert('a');
    const b = alert('b');
    m.apply(snapshot({ alerts: [b, a], unread: 2 }));
    m.apply(batch({ alerts: [{ ...a, title: 'Changed', update_count: 1, received_at: new Date().toISOString() }], unread: 2 }));
    expect(titles(m)).toEqual(['b', 'a']);
    expect(m.alerts.get(keyOf(a))?.title).toBe('Changed');
    expect(m.unread).toBe(2);
  });

  it('filters by server, kind, priority, unread and text', () => {
    const m = new Model();
    const rows = [
      alert('1', { priority: 'critical', title: 'Shots fired' }),
      alert('2', { kind: 'assignment', read_at: '2026-11-24T14:00:00Z' }),
      alert('3', { server: 'http://other', priority: 'low' }),
    ];
    m.apply(snapshot({ alerts: rows }));
    m.setFilters({ minPriority: 'high' });
    expect(titles(m)).toEqual(['1']);
    m.setFilters({ minPriority: '', kind: 'assignment' });
    expect(titles(m)).toEqual(['2']);
    m.setFilters({ kind: '', unreadOnly: true });
    expect(titles(m)).toEqual(['3', '1']);
    m.setFilters({ unreadOnly: false, server: 'http://other' });
    expect(titles(m)).toEqual(['3']);
    m.setFilters({ server: '', text: 'SHOTS' });
    expect(titles(m)).toEqual(['1']);
  });

  it('places gap notices where they happened', () => {
    const m = new Model();
    const before = alert('before');
    const after = alert('after');
    const to = new Date(Date.parse(before.first_received_at) + 500).toISOString();
    const gap = { server: before.server, from: before.first_received_at, to, note: 'offline' };
    m.apply(snapshot({ alerts: [after, before], gaps: [gap] }));
    expect(titles(m)).toEqual(['after', `gap:${gap.from}`, 'before']);
    m.setFilters({ text: 'x' });
    expect(titles(m).some((t) => t.startsWith('gap:'))).toBe(false);
  });

  it('keeps at most LIST_LIMIT alerts, dropping the oldest read ones', () => {
    const m = new Model();
    const read = Array.from({ length: LIST_LIMIT }, (_, i) => alert(`r${i}`, { read_at: '2026-11-24T14:00:00Z' }));
    m.apply(snapshot({ alerts: read }));
    m.apply(batch({ alerts: [alert('new1'), alert('new2')] }));
    expect(m.alerts.size).toBe(LIST_LIMIT);
    expect(m.alerts.has(keyOf(read[0]))).toBe(false);
    expect(m.alerts.has(keyOf(read[1]))).toBe(false);
    expect(m.items()[0].key).toContain('new2');
  });

  it('names servers that need signing in again', () => {
    const m = new Model();
    m.apply(snapshot({ servers: [] }));
    expect(m.needsSignIn()).toEqual([]);
    const s = snapshot().servers[0];
    m.apply(batch({ servers: [{ ...s, link: { status: 'auth_failed', reason: 'HTTP 401' } }] }));
    expect(m.needsSignIn().map((x) => x.label)).toEqual(['Station 4']);
  });
});
