// The update prompt: "update available: version, notes", installed only when the user says so, with download
// progress; while an urgent alert waits for acknowledgement the Rust side holds the install back and says why.

import type { Backend } from './backend';
import type { UpdateError, UpdateProgress, UpdateStatus } from './generated/updates';

export class UpdatePrompt {
  private installing = false;
  /** The version the user put off with "Later" (asked again only for a newer one). */
  private postponed: string | null = null;

  constructor(
    private readonly banner: HTMLElement,
    private readonly backend: Backend,
  ) {
    this.part('update-install').addEventListener('click', () => void this.install());
    this.part('update-later').addEventListener('click', () => {
      if (this.installing) {
        void this.backend.updateCancel();
        return;
      }
      this.postponed = this.banner.dataset.version ?? null;
      this.banner.hidden = true;
    });
  }

  private part<T extends HTMLElement = HTMLElement>(testid: string): T {
    const found = this.banner.querySelector<T>(`[data-testid="${testid}"]`);
    if (!found) throw new Error(`update banner: missing ${testid}`);
    return found;
  }

  async start(): Promise<void> {
    try {
      await this.backend.onUpdateStatus((s) => this.show(s));
      this.show(await this.backend.updateStatus());
    } catch (e) {
      console.warn('updates unavailable', e);
    }
  }

  show(status: UpdateStatus): void {
    if (this.installing) return;
    this.banner.dataset.state = status.type;
    const text = this.part('update-text');
    const install = this.part<HTMLButtonElement>('update-install');
    if (status.type === 'available') {
      if (status.version === this.postponed) return;
      this.banner.dataset.version = status.version;
      text.textContent = `Update available: Alertdesk ${status.version} (you have ${status.currentVersion})${
        status.notes ? ` — ${status.notes}` : ''
      }`;
      install.hidden = false;
      install.disabled = false;
      this.part('update-later').textContent = 'Later';
      this.banner.hidden = false;
    } else if (status.type === 'error') {
      text.textContent = `Could not check for updates: ${status.message}. This version keeps working.`;
      install.hidden = true;
      this.part('update-later').textContent = 'Dismiss';
      this.banner.hidden = false;
    } else {
      this.banner.hidden = true;
    }
  }

  private progress(p: UpdateProgress): void {
    const text = this.part('update-text');
    const bar = this.part<HTMLProgressElement>('update-progress');
    this.banner.dataset.state = p.type;
    switch (p.type) {
      case 'started':
        bar.hidden = false;
        bar.removeAttribute('value');
        text.textContent = 'Downloading the update…';
        break;
      case 'progress':
        if (p.total) bar.value = p.downloaded / p.total;
        text.textContent = p.total
          ? `Downloading the update… ${Math.round((100 * p.downloaded) / p.total)}%`
          : `Downloading the update… ${Math.round(p.downloaded / 1024)} KiB`;
        break;
      case 'waiting':
        text.textContent = `Downloaded and verified. Waiting to install: ${p.reason}`;
        break;
      case 'installing':
        text.textContent = 'Installing…';
        break;
      case 'finished':
        text.textContent = 'Installed. Restarting…';
        break;
      case 'failed':
        text.textContent = `The update was not installed: ${p.message}. This version keeps working.`;
        break;
    }
  }

  private async install(): Promise<void> {
    this.installing = true;
    this.part<HTMLButtonElement>('update-install').disabled = true;
    this.part('update-later').textContent = 'Cancel';
    try {
      await this.backend.updateInstall((p) => this.progress(p));
    } catch (e) {
      const error = e as Partial<UpdateError>;
      this.part('update-text').textContent =
        error.kind === 'cancelled'
          ? 'Update cancelled. This version keeps working.'
          : `The update was not installed: ${error.message ?? String(e)}. This version keeps working.`;
      this.banner.dataset.state = 'failed';
    } finally {
      this.installing = false;
      this.part('update-progress').hidden = true;
      this.part<HTMLButtonElement>('update-install').hidden = true;
      this.part('update-later').textContent = 'Dismiss';
    }
  }
}
