import { describe, expect, it } from 'vitest';
import { itemOf, keyOf, listFilter, Model, NO_FILTERS, splitKey } from './model';
import { alert, batch, snapshot } from './test/fixtures';
import { FakeList } from './test/fakelist';

describe('Model', () => {
  it('keeps the counts, servers and notification state from the Rust side, and no rows', () => {
    const list = new FakeList();
    const m = new Model();
    m.apply(list.take(snapshot({ alerts: [alert('a'), alert('b')], unread: 2 })));
    expect(m.loaded).toBe(true);
    expect(m.unread).toBe(2);
    expect(Object.keys(m)).not.toContain('alerts');
    m.apply(list.take(batch({ unread: 1, notifications: { mode: 'silenced' }, restoring: { done: 1, total: 2 } })));
    expect([m.unread, m.notifications.mode, m.restoring?.done]).toEqual([1, 'silenced', 1]);
    m.apply({ type: 'focus', server: 's', id: 'x', escalate: false });
    expect(m.unread).toBe(1);
  });

  it('sends the filters as the Rust side takes them', () => {
    expect(listFilter(NO_FILTERS)).toEqual({ server: null, kind: null, min_priority: null, unread_only: false, text: '' });
    expect(listFilter({ server: 'http://a', kind: 'assignment', minPriority: 'high', unreadOnly: true, text: 'Fire' })).toEqual({
      server: 'http://a',
      kind: 'assignment',
      min_priority: 'high',
      unread_only: true,
      text: 'Fire',
    });
  });

  it('keys rows: alerts by server and id, gaps apart', () => {
    const a = alert('r-1', { server: 'http://x:1' });
    expect(splitKey(keyOf(a))).toEqual({ server: 'http://x:1', id: 'r-1' });
    const gap = itemOf({ type: 'gap', gap: { server: 'http://x:1', from: a.received_at, to: null, note: 'offline' } });
    expect(gap.type).toBe('gap');
    expect(splitKey(gap.key)).toBeNull();
    expect(itemOf({ type: 'alert', alert: a, pinned: true })).toMatchObject({ key: keyOf(a), pinned: true });
  });

  it('names servers that need signing in again', () => {
    const m = new Model();
    m.apply(new FakeList().take(snapshot({ servers: [] })));
    expect(m.needsSignIn()).toEqual([]);
    const s = snapshot().servers[0];
    m.apply(new FakeList().take(batch({ servers: [{ ...s, link: { status: 'auth_failed', reason: 'HTTP 401' } }] })));
    expect(m.needsSignIn().map((x) => x.label)).toEqual(['Station 4']);
  });
});
