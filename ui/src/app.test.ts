import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App, applyTheme, boot } from './app';
import type { AlertDetail } from './generated/types';
import { alert, at, batch, server, snapshot } from './test/fixtures';
import { fakeBackend, type FakeBackend, loadPage } from './test/page';

const $ = (testid: string) => document.querySelector<HTMLElement>(`[data-testid="${testid}"]`)!;
const rows = () => [...document.querySelectorAll<HTMLElement>('[data-testid="alert-row"]')];
const flush = () => new Promise((r) => setTimeout(r, 40));

function detailOf(id: string): AlertDetail {
  return {
    alert: alert(id),
    event: 'new_report',
    source: 'live',
    timeline: [],
    trail: [],
    payload: '{"id": 1}',
    writes_back: true,
    responses: [],
  };
}

describe('the window', () => {
  let backend: FakeBackend;
  let app: App;

  beforeEach(async () => {
    loadPage();
    backend = fakeBackend({
      detail: (_server, id) => {
        backend.calls.push(['detail', [id]]);
        return Promise.resolve(detailOf(id));
      },
    });
    app = await boot(document, backend);
  });
  afterEach(() => app.dispose());

  it('shows the version and subscribes', () => {
    expect($('app-version').textContent).toBe('v9.9.9');
    expect(backend.calls.map((c) => c[0])).toEqual(['appInfo', 'subscribe', 'onUpdateStatus', 'updateStatus', 'onSettingsChanged']);
  });

  it('draws rows, the unread badge and the title from events', async () => {
    backend.emit(snapshot({ alerts: [alert('1'), alert('2', { read_at: '2026-11-24T14:00:00Z' })], unread: 1 }));
    await flush();
    expect(rows().map((r) => r.dataset.alertId)).toEqual(['2', '1']);
    expect(rows().map((r) => r.dataset.unread)).toEqual(['false', 'true']);
    expect($('unread-badge').textContent).toBe('1');
    expect(document.title).toBe('Alertdesk (1)');
    expect($('server-status').dataset.state).toBe('live');
    backend.emit(batch({ alerts: [alert('3', { assigned_to_me: true })], unread: 2 }));
    await flush();
    expect(rows()[0].dataset.alertId).toBe('3');
    expect(rows()[0].classList.contains('pinned')).toBe(true);
    expect($('unread-badge').textContent).toBe('2');
  });

  it('renders server text as text, never as markup', async () => {
    const evil = '<img src=x onerror="window.__xss=1"><a href="javascript:alert(1)">x</a>';
    backend.emit(snapshot({ alerts: [alert('x', { title: evil, body: evil })], servers: [server({ label: evil })] }));
    await flush();
    expect(rows()[0].querySelector('.title')!.textContent).toBe(evil);
    expect(document.querySelectorAll('img[src="x"], a[href^="javascript"]').length).toBe(0);
  });

  it('opens a row on Enter: marks it read and shows the detail pane', async () => {
    backend.emit(snapshot({ alerts: [alert('1'), alert('2')], unread: 2 }));
    await flush();
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j', bubbles: true }));
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j', bubbles: true }));
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', bubbles: true }));
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await flush();
    expect(backend.calls).toContainEqual(['markRead', ['http://127.0.0.1:8080', '2']]);
    expect($('detail-pane').hidden).toBe(false);
    expect($('detail-title').textContent).toBe('Report 2');
    // A batch naming it changed: the pane reads it again; one naming another alert does not.
    const reads = () => backend.calls.filter((c) => c[0] === 'detail').length;
    const before = reads();
    backend.emit(batch({ alerts: [alert('1')], unread: 1 }));
    await flush();
    expect(reads()).toBe(before);
    backend.emit(batch({ alerts: [{ ...alert('2'), read_at: '2026-11-24T14:00:00Z' }], unread: 1 }));
    await flush();
    expect(reads()).toBe(before + 1);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', bubbles: true }));
    expect(backend.calls).toContainEqual(['acknowledge', ['http://127.0.0.1:8080', '2']]);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'R', bubbles: true }));
    expect(backend.calls.some((c) => c[0] === 'markAllRead')).toBe(true);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: '?', bubbles: true }));
    expect(($('help-overlay') as HTMLDialogElement).open).toBe(true);
  });

  it('the detail pane offers the profile responses and shows where each sent one stands, with its times', async () => {
    const sent: AlertDetail = {
      ...detailOf('7'),
      alert: alert('7', {
        status: 'assigned',
        responses: [
          { name: 'acknowledge', label: 'Acknowledge', state: 'confirmed', made_at: at(1), attempts: 1, next_at: null,
            done_at: at(2), error: null },
          { name: 'en_route', label: 'En route', state: 'pending', made_at: at(3), attempts: 2, next_at: at(20),
            done_at: null, error: 'connection refused' },
          { name: 'close', label: 'Closed', state: 'failed', made_at: at(4), attempts: 1, next_at: null,
            done_at: at(5), error: 'HTTP 409: report 7 is closed' },
        ],
      }),
      responses: [{ name: 'en_route', label: 'En route' }, { name: 'on_scene', label: 'On scene' }],
      timeline: [
        { what: 'server', at: at(0), label: null, after_ms: null },
        { what: 'received', at: at(0.25), label: null, after_ms: 250 },
        { what: 'notified', at: at(0.3), label: null, after_ms: 50 },
        { what: 'confirmed', at: at(2), label: 'Acknowledge', after_ms: 1700 },
      ],
    };
    backend.detail = (_server, id) => {
      backend.calls.push(['detail', [id]]);
      return Promise.resolve(sent);
    };
    backend.emit(snapshot({ alerts: [sent.alert], unread: 1 }));
    await flush();
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j', bubbles: true }));
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await flush();
    const states = [...$('detail-responses').querySelectorAll('li')].map((li) => [li.dataset.state, li.textContent]);
    expect(states[0][0]).toBe('confirmed');
    expect(states[1]).toEqual(['pending', expect.stringContaining('not through yet after 2 attempts: connection refused')]);
    expect(states[2]).toEqual(['failed', expect.stringContaining('refused by the server (HTTP 409: report 7 is closed)')]);
    const times = $('detail-times').textContent!;
    expect(times).toContain('Server time');
    expect(times).toContain('(+250 ms)');
    expect(times).toContain('Server confirmed: Acknowledge');
    expect(times).toContain('(+1.7 s)');
    expect(document.querySelector('.tags .status')!.textContent).toBe('assigned');
    $('respond-on_scene').click();
    expect(backend.calls).toContainEqual(['respond', ['http://127.0.0.1:8080', '7', 'on_scene']]);
    // Acknowledged in the row at once, ahead of the Rust side's batch.
    expect(rows()[0].querySelector('.flags')!.textContent).toContain('Acknowledged');
  });

  it('mark all read is a button too, and / focuses the search', async () => {
    backend.emit(snapshot({ alerts: [alert('1')], unread: 1 }));
    await flush();
    $('mark-all-read').click();
    expect(backend.calls.some((c) => c[0] === 'markAllRead')).toBe(true);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: '/', bubbles: true }));
    expect(document.activeElement).toBe($('search'));
  });

  it('asks to sign in on first run, and again for a refused server', async () => {
    backend.emit(snapshot({ servers: [] }));
    await flush();
    expect(($('sign-in') as HTMLDialogElement).open).toBe(true);
    ($('sign-in') as HTMLDialogElement).close();
    backend.emit(batch({ servers: [server({ link: { status: 'auth_failed', reason: 'token expired' } })] }));
    await flush();
    expect($('sign-in-again').textContent).toContain('token expired');
    expect($('server-status').dataset.state).toBe('auth_failed');
  });

  it("signing in again keeps the server's certificate authority file in the form", async () => {
    const ca = '/etc/alertdesk/department-ca.pem';
    backend.emit(snapshot({ servers: [server({ ca_file: ca, link: { status: 'auth_failed', reason: 'token expired' } })] }));
    await flush();
    ($('sign-in-again').querySelector('button') as HTMLButtonElement).click();
    await flush();
    expect(($('sign-in-ca-file') as HTMLInputElement).value).toBe(ca);
  });

  it('warns, lastingly, about a server reached over plain http:// across the network', async () => {
    backend.emit(snapshot({ servers: [server({ label: 'Station 4', unencrypted: true }), server({ label: 'Local', server: 'http://127.0.0.1:9' })] }));
    await flush();
    const warnings = [...document.querySelectorAll<HTMLElement>('[data-testid="unencrypted-warning"]')];
    expect(warnings.length).toBe(1);
    expect(warnings[0].textContent).toContain('Station 4 is reached over http://, not encrypted');
    expect(document.querySelectorAll('[data-testid="server-unencrypted"]').length).toBe(1);
    backend.emit(batch({ servers: [server({ label: 'Station 4', unencrypted: false })] }));
    await flush();
    expect(document.querySelectorAll('[data-testid="unencrypted-warning"]').length).toBe(0);
  });

  it('says before a sign-in ends and signs in again in one step, from the banner or a notification', async () => {
    const ends = new Date(Date.now() + 5 * 60_000).toISOString();
    const s = server({
      server: 'http://127.0.0.1:5003',
      label: 'Crowd',
      profile: 'crowd-monitoring',
      session: { expires_at: ends, renews: false, ending: true },
      sign_in: { profile: 'station-reports', username: 'officer@crowd.test', vars: { station_id: '7' } },
    });
    backend.profiles = () =>
      Promise.resolve([
        {
          name: 'station-reports',
          description: '',
          builtin: true,
          default_server: null,
          variables: [{ name: 'station_id', description: 'Your station', default: null, required: true }],
          login: true,
          sign_in_optional: false,
          managed: false,
        },
      ]);
    backend.emit(snapshot({ servers: [s] }));
    await flush();
    const banner = $('sign-in-again');
    expect(banner.dataset.ending).toBe('true');
    expect(banner.textContent).toMatch(/Crowd: the sign-in ends at \d\d:\d\d and cannot be renewed/);
    expect(($('sign-in') as HTMLDialogElement).open).toBe(false); // a live server: no first-run sign-in
    $('sign-in-again-button').click();
    await flush();
    const form = (testid: string) => $(testid) as HTMLInputElement;
    expect(($('sign-in') as HTMLDialogElement).open).toBe(true);
    expect(form('sign-in-profile').value).toBe('station-reports');
    expect(form('sign-in-server').value).toBe('http://127.0.0.1:5003');
    expect(form('sign-in-label').value).toBe('Crowd');
    expect(form('sign-in-username').value).toBe('officer@crowd.test');
    expect(form('sign-in-var-station_id').value).toBe('7');
    expect(form('sign-in-password').value).toBe('');
    expect(document.activeElement).toBe(form('sign-in-password'));
    ($('sign-in') as HTMLDialogElement).close();

    // "Sign in again" on the notification: the same form.
    backend.emit({ type: 'signIn', server: 'http://127.0.0.1:5003' });
    await flush();
    expect(($('sign-in') as HTMLDialogElement).open).toBe(true);
    expect(form('sign-in-username').value).toBe('officer@crowd.test');
    ($('sign-in') as HTMLDialogElement).close();

    // Signed in again: the banner goes. A renewed sign-in says nothing.
    backend.emit(batch({ servers: [server({ ...s, session: { expires_at: ends, renews: false, ending: false } })] }));
    backend.emit({ type: 'notice', level: 'info', notice: { kind: 'sessionRenewed', server: s.server, label: 'Crowd', expires_at: ends } });
    await flush();
    expect(document.querySelector('[data-testid="sign-in-again"]')).toBeNull();
    expect(document.querySelectorAll('[data-testid="notice"]').length).toBe(0);
  });

  it('silencing everything needs a confirmation', async () => {
    $('pause').click();
    (document.querySelector('[data-pause="silence"]') as HTMLElement).click();
    ($('confirm') as HTMLDialogElement).close('cancel');
    expect(backend.calls.some((c) => c[0] === 'setNotifications')).toBe(false);
    $('pause').click();
    (document.querySelector('[data-pause="silence"]') as HTMLElement).click();
    ($('confirm') as HTMLDialogElement).close('ok');
    expect(backend.calls).toContainEqual(['setNotifications', [{ mode: 'silence', on: true }]]);
    backend.emit(batch({ notifications: { mode: 'silenced' } }));
    await flush();
    expect($('notifications-state').hidden).toBe(false);
    expect($('notifications-state').dataset.mode).toBe('silenced');
  });

  it('holds only a window of 10,000 alerts and draws a screenful of it', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => alert(`m${i}`));
    backend.emit(snapshot({ alerts: many, unread: 10_000 }));
    await flush();
    expect($('list-count').textContent).toBe('10000 alerts');
    const asked = backend.list.requests[backend.list.requests.length - 1];
    expect(asked.offset).toBe(0);
    expect(asked.limit).toBeLessThan(200);
    expect(app['list'].keys().length).toBe(asked.limit);
    expect(rows().length).toBeGreaterThan(5);
    expect(rows().length).toBeLessThan(100);
    expect($('alert-list').querySelector<HTMLElement>('.spacer-rows')!.style.height).toBe(`${10_000 * 56}px`);
  });

  it('opens an alert far down the list from a notification: scrolled to, selected, read, detailed', async () => {
    const many = Array.from({ length: 300 }, (_, i) => alert(`m${i}`));
    backend.emit(snapshot({ alerts: many, unread: 300 }));
    await flush();
    expect(document.querySelector('[data-alert-id="m5"]')).toBeNull();
    backend.emit({ type: 'focus', server: 'http://127.0.0.1:8080', id: 'm5', escalate: false });
    await flush();
    const asked = backend.list.requests[backend.list.requests.length - 1];
    expect(asked.around).toEqual({ server: 'http://127.0.0.1:8080', id: 'm5' });
    const row = document.querySelector<HTMLElement>('[data-alert-id="m5"]')!;
    expect(row.classList.contains('selected')).toBe(true);
    expect($('detail-title').textContent).toBe('Report m5');
    expect(backend.calls).toContainEqual(['markRead', ['http://127.0.0.1:8080', 'm5']]);
    // j moves on from it, within the rows now held.
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j', bubbles: true }));
    expect(document.querySelector<HTMLElement>('.row.selected')!.dataset.alertId).toBe('m4');
  });

  it('searches on the Rust side and shows the counts it sends', async () => {
    backend.emit(snapshot({ alerts: [alert('1', { title: 'Shots fired' }), alert('2')], unread: 2 }));
    await flush();
    const search = $('search') as HTMLInputElement;
    search.value = 'SHOTS';
    search.dispatchEvent(new Event('input'));
    await flush();
    expect(backend.list.requests[backend.list.requests.length - 1].filter.text).toBe('SHOTS');
    expect(rows().map((r) => r.dataset.alertId)).toEqual(['1']);
    expect($('list-count').textContent).toBe('1 of 2 alerts');
    expect($('empty-state').hidden).toBe(true);
    search.value = 'nothing like it';
    search.dispatchEvent(new Event('input'));
    await flush();
    expect($('empty-state').hidden).toBe(false);
  });

  it('applies [window] theme, or the system preference', () => {
    applyTheme(document, 'dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
    applyTheme(document, 'light');
    expect(document.documentElement.dataset.theme).toBe('light');
    applyTheme(document, 'system'); // jsdom has no matchMedia: light
    expect(document.documentElement.dataset.theme).toBe('light');
  });

  it('shows a gap notice where the link was down', async () => {
    const before = alert('before');
    const after = alert('after');
    const to = new Date(Date.parse(before.first_received_at) + 500).toISOString();
    backend.emit(snapshot({ alerts: [after, before], gaps: [{ server: before.server, from: before.first_received_at, to, note: 'offline' }] }));
    await flush();
    const order = [...document.querySelectorAll<HTMLElement>('[data-testid="alert-row"], [data-testid="gap-row"]')]
      .sort((a, b) => Number(/-?\d+/.exec(a.style.transform)?.[0]) - Number(/-?\d+/.exec(b.style.transform)?.[0]))
      .map((r) => r.dataset.alertId ?? 'gap');
    expect(order).toEqual(['after', 'gap', 'before']);
    expect($('gap-row').textContent).toContain('may be missing');
  });

  it('waits for the saved servers before asking to sign in, and shows the progress', async () => {
    const dialog = () => $('sign-in') as HTMLDialogElement;
    backend.emit(snapshot({ servers: [], restoring: { done: 0, total: 2 } }));
    await flush();
    expect($('restoring').hidden).toBe(false);
    expect($('restoring').textContent).toBe('Connecting your servers: 0 of 2…');
    expect(dialog().open).toBe(false);
    backend.emit(batch({ servers: [server()], restoring: null }));
    await flush();
    expect($('restoring').hidden).toBe(true);
    expect(dialog().open).toBe(false);
    // Restored, and none came back: now it asks.
    backend.emit(batch({ servers: [], restoring: null }));
    await flush();
    expect(dialog().open).toBe(true);
  });
});
