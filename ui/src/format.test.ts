import { describe, expect, it } from 'vitest';
import { linkText, notificationsText, time } from './format';
import { server } from './test/fixtures';

describe('format', () => {
  it('shows link states in words', () => {
    expect(linkText(server({ latency_ms: 12 }))).toBe('Live · 12 ms');
    expect(linkText(server({ latency_ms: null }))).toBe('Live');
    const since = '2026-11-24T14:00:00Z';
    const s = server({
      link: { status: 'reconnecting', retry_in_ms: 4000, reason: 'reset' },
      since,
      down_since: since,
    });
    expect(linkText(s, Date.parse(since) + 1000)).toMatch(/^Reconnecting in 3 s · offline since \d\d:\d\d$/);
    expect(linkText(s, Date.parse(since) + 9000)).toMatch(/^Reconnecting now/);
    expect(linkText(server({ link: { status: 'polling', every_s: 10, reason: 'x' } }))).toContain('Polling every 10 s');
    expect(linkText(server({ link: { status: 'auth_failed', reason: 'x' } }))).toBe('Sign in again');
  });

  it('says when notifications are held back', () => {
    expect(notificationsText({ mode: 'normal' })).toBe('');
    expect(notificationsText({ mode: 'paused', until: null })).toContain('until resumed');
    expect(notificationsText({ mode: 'quietHours', until: '07:00' })).toContain('07:00');
    expect(notificationsText({ mode: 'silenced' })).toContain('not even critical');
  });

  it('formats times and passes through what is not one', () => {
    const now = new Date('2026-11-24T15:00:00');
    expect(time('2026-11-24T14:02:11', now)).toMatch(/14:02:11/);
    expect(time('2026-11-20T14:02:11', now)).not.toMatch(/:11$/);
    expect(time('nonsense')).toBe('nonsense');
    expect(time(null)).toBe('—');
  });
});
