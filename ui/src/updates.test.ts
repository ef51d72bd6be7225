import { beforeEach, describe, expect, it } from 'vitest';
import type { UpdateProgress } from './generated/updates';
import { fakeBackend, type FakeBackend, loadPage } from './test/page';
import { UpdatePrompt } from './updates';

const $ = (testid: string) => document.querySelector<HTMLElement>(`[data-testid="${testid}"]`)!;
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('the update prompt', () => {
  let backend: FakeBackend;
  let prompt: UpdatePrompt;
  let progress: ((p: UpdateProgress) => void) | null;
  let finish: ((error?: unknown) => void) | null;

  beforeEach(() => {
    loadPage();
    progress = null;
    finish = null;
    backend = fakeBackend({
      updateInstall: (onProgress) => {
        backend.calls.push(['updateInstall', []]);
        progress = onProgress;
        return new Promise((resolve, reject) => {
          finish = (error) => (error ? reject(error) : resolve());
        });
      },
    });
    prompt = new UpdatePrompt($('update-banner'), backend);
  });

  it('offers an available update and installs only on request, showing progress', async () => {
    expect($('update-banner').hidden).toBe(true);
    prompt.show({ type: 'available', currentVersion: '0.1.0', version: '0.2.0', notes: 'Faster', date: null });
    expect($('update-banner').hidden).toBe(false);
    expect($('update-text').textContent).toContain('Update available: Alertdesk 0.2.0');
    expect($('update-text').textContent).toContain('Faster');
    expect(backend.calls.some(([c]) => c === 'updateInstall')).toBe(false);

    $('update-install').click();
    expect(backend.calls.some(([c]) => c === 'updateInstall')).toBe(true);
    progress!({ type: 'started', contentLength: 1000 });
    progress!({ type: 'progress', downloaded: 500, total: 1000 });
    expect($('update-text').textContent).toContain('50%');
    expect(($('update-progress') as HTMLProgressElement).value).toBeCloseTo(0.5);
    progress!({ type: 'waiting', reason: '1 critical alert(s) or assignment(s) to you still wait' });
    expect($('update-text').textContent).toContain('Waiting to install: 1 critical');
    // "Cancel" while waiting asks the Rust side to stop.
    $('update-later').click();
    expect(backend.calls.some(([c]) => c === 'updateCancel')).toBe(true);
    finish!({ kind: 'cancelled', message: 'cancelled' });
    await tick();
    expect($('update-text').textContent).toBe('Update cancelled. This version keeps working.');
  });

  it('says when an update failed or a check went wrong, and Later hides the offer', async () => {
    prompt.show({ type: 'available', currentVersion: '0.1.0', version: '0.2.0', notes: null, date: null });
    $('update-install').click();
    finish!({ kind: 'verify', message: 'The signature verification failed' });
    await tick();
    expect($('update-text').textContent).toContain('signature verification failed');
    expect($('update-banner').dataset.state).toBe('failed');

    loadPage();
    prompt = new UpdatePrompt($('update-banner'), backend);
    prompt.show({ type: 'available', currentVersion: '0.1.0', version: '0.2.0', notes: null, date: null });
    $('update-later').click();
    expect($('update-banner').hidden).toBe(true);
    prompt.show({ type: 'available', currentVersion: '0.1.0', version: '0.2.0', notes: null, date: null });
    expect($('update-banner').hidden).toBe(true);
    prompt.show({ type: 'error', message: 'server unreachable' });
    expect($('update-banner').hidden).toBe(false);
    expect($('update-text').textContent).toContain('server unreachable');
  });
});
