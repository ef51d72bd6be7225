import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { invoke } from '@tauri-apps/api/core';
import { boot, type AppInfo } from './app';

function page(): Document {
  const doc = document.implementation.createHTMLDocument('t');
  doc.body.innerHTML = `
    <span data-testid="app-version"></span>
    <div data-testid="settings-error" hidden></div>`;
  return doc;
}

describe('boot', () => {
  let calls: string[];
  beforeEach(() => {
    calls = [];
  });
  afterEach(() => clearMocks());

  it('asks the core for app_info and shows the version', async () => {
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'app_info') return { name: 'Alertdesk', version: '1.2.3', settingsError: null } satisfies AppInfo;
      throw new Error(`unexpected ${cmd}`);
    });
    const doc = page();
    await boot(doc, invoke);
    expect(calls).toEqual(['app_info']);
    expect(doc.querySelector('[data-testid="app-version"]')?.textContent).toBe('v1.2.3');
    expect(doc.querySelector<HTMLElement>('[data-testid="settings-error"]')?.hidden).toBe(true);
  });

  it('shows a settings error as text, never as markup', async () => {
    const hostile = 'line 1: <img src=x onerror="window.pwned=1">';
    mockIPC(() => ({ name: 'Alertdesk', version: '1.0.0', settingsError: hostile }));
    const doc = page();
    await boot(doc, invoke);
    const banner = doc.querySelector<HTMLElement>('[data-testid="settings-error"]')!;
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain(hostile);
    expect(banner.querySelector('img')).toBeNull();
  });

  it('says so when the core cannot be reached', async () => {
    mockIPC(() => {
      throw new Error('ipc down');
    });
    const doc = page();
    await boot(doc, invoke);
    const banner = doc.querySelector<HTMLElement>('[data-testid="settings-error"]')!;
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain('ipc down');
  });
});
