import { describe, expect, it } from 'vitest';
import { errorText, noticeText, restoringText, sessionText, settingsErrorText } from './words';

describe('the window words the core facts', () => {
  it('adds advice by the error kind, and passes other rejections through', () => {
    expect(errorText({ kind: 'credentials', message: 'x rejected the username or password (HTTP 401)' })).toBe(
      'x rejected the username or password (HTTP 401). Check the username and password.',
    );
    expect(errorText({ kind: 'input', message: 'profile demo has no variable "x"' })).toBe('profile demo has no variable "x"');
    expect(errorText('plain text')).toBe('plain text');
    expect(errorText(new Error('boom'))).toBe('boom');
  });

  it('says each notice for this window', () => {
    expect(noticeText({ kind: 'notificationsFailed', message: 'no service' })).toMatch(/keep it in view/);
    expect(noticeText({ kind: 'historyFailed', message: 'disk full' })).toMatch(/not kept/);
    expect(
      noticeText({
        kind: 'connectFailed',
        server: 'http://a',
        error: { kind: 'noToken', message: 'no token for http://a (profile p)' },
      }),
    ).toBe('Cannot connect http://a: no token for http://a (profile p). Sign in to it.');
    expect(noticeText({ kind: 'serversFileInvalid', message: 'servers.toml is not valid' })).toMatch(/Sign in to your servers again/);
  });

  it("words the department's servers, files and locks", () => {
    expect(errorText({ kind: 'managed', message: 'http://a was set up by your department; it cannot be removed here' }))
      .toBe('http://a was set up by your department; it cannot be removed here. Your department manages it.');
    expect(noticeText({ kind: 'departmentFileInvalid', message: '/etc/alertdesk/servers.toml is not valid (line 2)' }))
      .toMatch(/^Your department's set-up could not all be read \(\/etc\/alertdesk\/servers.toml is not valid \(line 2\)\)/);
    expect(settingsErrorText('quiet_hours', { kind: 'locked', message: 'alerting.quiet_hours is set by your department' }))
      .toBe('Quiet hours is set by your department and cannot be changed here.');
    expect(settingsErrorText('volume', { kind: 'invalid', message: 'alerting.volume is 101' }))
      .toBe('Sound volume was not changed: alerting.volume is 101.');
    expect(settingsErrorText('theme', 'IPC failed')).toBe('Theme was not changed: IPC failed');
  });

  it('shows how far restoring the saved servers got', () => {
    expect(restoringText({ done: 1, total: 3 })).toBe('Connecting your servers: 1 of 3…');
    expect(restoringText(null)).toBe('');
  });

  it('says when a sign-in ends, or ended', () => {
    const at = '2026-11-24T14:30:00Z';
    const before = Date.parse(at) - 60_000;
    expect(sessionText('Crowd', at, before)).toMatch(/^Crowd: the sign-in ends at \d\d:\d\d and cannot be renewed\.$/);
    expect(sessionText('Crowd', at, before + 120_000)).toContain('the sign-in ended at');
    // The banner says it (and stays); a notice would say it twice.
    expect(noticeText({ kind: 'sessionEnding', server: 'http://x', label: 'Crowd', expires_at: at })).toBe('');
    expect(noticeText({ kind: 'sessionRenewed', server: 'http://x', label: 'Crowd', expires_at: at })).toBe('');
  });
});
