import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App, boot } from './app';
import type { SettingsPane } from './generated/settings';
import { settingsPane } from './test/fixtures';
import { fakeBackend, type FakeBackend, loadPage } from './test/page';

const $ = <T extends HTMLElement = HTMLElement>(testid: string) =>
  document.querySelector<T>(`[data-testid="${testid}"]`)!;
const flush = () => new Promise((r) => setTimeout(r, 0));

function change(testid: string, value?: string | boolean): void {
  const control = $<HTMLInputElement>(testid);
  if (typeof value === 'boolean') control.checked = value;
  else if (value !== undefined) control.value = value;
  control.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('the settings pane', () => {
  let backend: FakeBackend;
  let app: App;

  async function start(initial: SettingsPane = settingsPane()): Promise<void> {
    loadPage();
    backend = fakeBackend({}, initial);
    app = await boot(document, backend);
  }

  beforeEach(() => start());
  afterEach(() => app.dispose());

  it('opens from the header and with the comma key, showing what is in effect', async () => {
    await start(settingsPane({ volume: 40, quiet_hours: { from: '23:00', to: '05:30' }, theme: 'dark' }));
    $('open-settings').click();
    await flush();
    expect(($('settings') as HTMLDialogElement).open).toBe(true);
    expect($<HTMLInputElement>('setting-on_duty').checked).toBe(true);
    expect($<HTMLInputElement>('setting-quiet_hours').checked).toBe(true);
    expect($<HTMLInputElement>('setting-quiet-from').value).toBe('23:00');
    expect($<HTMLInputElement>('setting-quiet-to').value).toBe('05:30');
    expect($<HTMLInputElement>('setting-volume').value).toBe('40');
    expect($('setting-volume-value').textContent).toBe('40%');
    expect($<HTMLSelectElement>('setting-theme').value).toBe('dark');
    expect(document.activeElement).toBe($('setting-on_duty'));
    $('settings-close').click();
    expect(($('settings') as HTMLDialogElement).open).toBe(false);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: ',', bubbles: true }));
    await flush();
    expect(($('settings') as HTMLDialogElement).open).toBe(true);
  });

  it('sends each change at once and shows it applied; the theme changes the window', async () => {
    $('open-settings').click();
    await flush();
    change('setting-on_duty', false);
    await flush();
    expect(backend.calls).toContainEqual(['setSetting', [{ key: 'on_duty', value: false }]]);
    expect($('settings-status').textContent).toBe('On duty: saved and applied.');
    change('setting-quiet_hours', true);
    await flush();
    // Turned on with no times yet: the usual night.
    expect(backend.calls).toContainEqual(['setSetting', [{ key: 'quiet_hours', value: { from: '22:00', to: '06:00' } }]]);
    change('setting-quiet-to', '07:15');
    await flush();
    expect(backend.calls).toContainEqual(['setSetting', [{ key: 'quiet_hours', value: { from: '22:00', to: '07:15' } }]]);
    change('setting-quiet_hours', false);
    await flush();
    expect(backend.calls).toContainEqual(['setSetting', [{ key: 'quiet_hours', value: null }]]);
    expect($<HTMLInputElement>('setting-quiet-from').disabled).toBe(true);
    change('setting-volume', '55');
    change('setting-speak_critical', true);
    change('setting-autostart', true);
    change('setting-theme', 'dark');
    await flush();
    const sent = backend.calls.filter(([c]) => c === 'setSetting').map(([, [c]]) => c);
    expect(sent.slice(-4)).toEqual([
      { key: 'volume', value: 55 },
      { key: 'speak_critical', value: true },
      { key: 'autostart', value: true },
      { key: 'theme', value: 'dark' },
    ]);
    expect(document.documentElement.dataset.theme).toBe('dark');
  });

  it('shows a locked setting disabled, says who set it, and never sends it', async () => {
    await start(
      settingsPane({
        quiet_hours: { from: '22:00', to: '06:00' },
        locked: ['quiet_hours', 'on_duty'],
        from_department: ['volume'],
      }),
    );
    $('open-settings').click();
    await flush();
    for (const testid of ['setting-quiet_hours', 'setting-quiet-from', 'setting-quiet-to', 'setting-on_duty']) {
      expect($<HTMLInputElement>(testid).disabled, testid).toBe(true);
    }
    expect($('setting-note-quiet_hours').textContent).toBe('Set by your department');
    expect($('setting-note-on_duty').textContent).toBe('Set by your department');
    expect($('setting-quiet_hours').getAttribute('aria-describedby')).toBe('setting-note-quiet_hours');
    expect($('setting-note-volume').textContent).toContain("Your department's choice");
    expect($<HTMLInputElement>('setting-volume').disabled).toBe(false);
    expect($('setting-note-theme').hidden).toBe(true);
    // Focus lands on the first setting that can be changed.
    expect(document.activeElement).toBe($('setting-volume'));
  });

  it('a refused change says why and shows the old value again', async () => {
    backend.setSetting = (c) => {
      backend.calls.push(['setSetting', [c]]);
      return Promise.reject({
        kind: 'invalid',
        message: 'alerting.volume = 0 silences critical alerts; add alerting.confirm_silence_critical = true to confirm',
      });
    };
    $('open-settings').click();
    await flush();
    change('setting-volume', '0');
    await flush();
    const status = $('settings-status');
    expect(status.textContent).toContain('Sound volume was not changed: alerting.volume = 0 silences critical alerts');
    expect(status.dataset.error).toBe('true');
    expect($<HTMLInputElement>('setting-volume').value).toBe('80');
    backend.setSetting = () => Promise.reject({ kind: 'locked', message: 'x' });
    change('setting-on_duty', false);
    await flush();
    expect(status.textContent).toBe('On duty is set by your department and cannot be changed here.');
    expect($<HTMLInputElement>('setting-on_duty').checked).toBe(true);
  });

  it('shows the settings left out at start until a change mends them', async () => {
    app.dispose();
    loadPage();
    const settingsProblems = ['settings.toml: alerting.volume is 101'];
    backend = fakeBackend({ appInfo: () => Promise.resolve({ name: 'Alertdesk', version: '1', settingsProblems, theme: 'system' }) });
    app = await boot(document, backend);
    expect($('settings-error').hidden).toBe(false);
    expect($('settings-error').textContent).toContain('alerting.volume is 101');
    backend.settingsChanged(settingsPane({ problems: [] }));
    expect($('settings-error').hidden).toBe(true);
    backend.settingsChanged(settingsPane({ problems: ['a.toml: bad', 'b.toml: worse'] }));
    expect($('settings-error').hidden).toBe(false);
    expect($('settings-error').textContent).toBe('Settings left out (the rest apply): a.toml: bad; b.toml: worse');
  });

  it('follows a settings file changed outside the window, and renders file problems as text', async () => {
    $('open-settings').click();
    await flush();
    const evil = '<img src=x onerror="window.__xss=1">';
    backend.settingsChanged(settingsPane({ on_duty: false, theme: 'light', problems: [`/etc/alertdesk/settings.toml: ${evil}`] }));
    expect($<HTMLInputElement>('setting-on_duty').checked).toBe(false);
    expect(document.documentElement.dataset.theme).toBe('light');
    expect($('settings-problems').hidden).toBe(false);
    expect($('settings-problems').textContent).toContain(evil);
    expect(document.querySelectorAll('img[src="x"]').length).toBe(0);
  });
});
