// The settings pane: what a user may change in the window (on duty, quiet hours, sound volume, reading aloud,
// starting at login, theme). Each change goes to the Rust side, which checks it, keeps it in the user's settings
// file and applies it at once; the pane then shows what is in effect. Settings the department locked are shown
// but cannot be changed, and say who set them.

import type { Backend } from './backend';
import type { PaneChange, PaneKey, SettingsPane } from './generated/settings';
import { DEPARTMENT_DEFAULT_TEXT, errorText, LOCKED_TEXT, SETTING_NAMES, settingsErrorText } from './words';

/** Quiet hours offered when they are turned on with no times yet. */
const DEFAULT_QUIET = { from: '22:00', to: '06:00' };

export class SettingsView {
  private pane: SettingsPane | null = null;
  private readonly q: <T extends HTMLElement>(testid: string) => T;

  constructor(
    private readonly dialog: HTMLDialogElement,
    private readonly backend: Backend,
    private readonly onApplied: (pane: SettingsPane) => void,
  ) {
    this.q = <T extends HTMLElement>(testid: string) => {
      const found = dialog.querySelector<T>(`[data-testid="${testid}"]`);
      if (!found) throw new Error(`settings: missing ${testid}`);
      return found;
    };
    this.wire();
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  /** Reads the settings in effect and opens the pane. */
  async open(): Promise<void> {
    this.status('');
    try {
      this.show(await this.backend.settings());
    } catch (e) {
      this.status(`Cannot read the settings: ${errorText(e)}`, true);
    }
    if (!this.dialog.open) this.dialog.showModal();
    this.dialog.querySelector<HTMLElement>('input:not(:disabled), select:not(:disabled)')?.focus();
  }

  /** Shows `pane` (also when a settings file changed outside the window). */
  show(pane: SettingsPane): void {
    this.pane = pane;
    this.check('setting-on_duty', pane.on_duty);
    this.check('setting-quiet_hours', pane.quiet_hours !== null);
    const from = this.q<HTMLInputElement>('setting-quiet-from');
    const to = this.q<HTMLInputElement>('setting-quiet-to');
    if (pane.quiet_hours) {
      from.value = pane.quiet_hours.from;
      to.value = pane.quiet_hours.to;
    }
    this.q<HTMLInputElement>('setting-volume').value = String(pane.volume);
    this.q('setting-volume-value').textContent = `${pane.volume}%`;
    this.check('setting-speak_critical', pane.speak_critical);
    this.check('setting-autostart', pane.autostart);
    this.q<HTMLSelectElement>('setting-theme').value = pane.theme;
    for (const row of this.dialog.querySelectorAll<HTMLElement>('[data-setting]')) {
      const key = row.dataset.setting as PaneKey;
      const locked = pane.locked.includes(key);
      row.dataset.locked = String(locked);
      for (const control of row.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) {
        control.disabled = locked;
      }
      const note = locked ? LOCKED_TEXT : pane.from_department.includes(key) ? DEPARTMENT_DEFAULT_TEXT : '';
      this.note(row, key, note);
    }
    // Times are only for quiet hours that are on.
    const quietOn = pane.quiet_hours !== null && !pane.locked.includes('quiet_hours');
    from.disabled = !quietOn;
    to.disabled = !quietOn;
    const problems = this.q('settings-problems');
    problems.textContent = pane.problems.length ? `Settings left out: ${pane.problems.join(' · ')}` : '';
    problems.hidden = pane.problems.length === 0;
  }

  private check(testid: string, on: boolean): void {
    this.q<HTMLInputElement>(testid).checked = on;
  }

  /** The line under a setting: who set it (empty: nothing to say). */
  private note(row: HTMLElement, key: PaneKey, text: string): void {
    let note = row.querySelector<HTMLElement>('.managed-note');
    if (!note) {
      note = this.dialog.ownerDocument.createElement('span');
      note.className = 'managed-note';
      note.setAttribute('data-testid', `setting-note-${key}`);
      row.append(note);
    }
    note.textContent = text;
    note.hidden = text === '';
    const control = row.querySelector<HTMLElement>('input, select');
    if (control) {
      if (!note.id) note.id = `setting-note-${key}`;
      if (text) control.setAttribute('aria-describedby', note.id);
      else control.removeAttribute('aria-describedby');
    }
  }

  private status(text: string, error = false): void {
    const status = this.q('settings-status');
    status.textContent = text;
    status.dataset.error = String(error);
  }

  private wire(): void {
    const checkbox = (key: 'on_duty' | 'speak_critical' | 'autostart') => {
      const input = this.q<HTMLInputElement>(`setting-${key}`);
      input.addEventListener('change', () => void this.send({ key, value: input.checked }));
    };
    checkbox('on_duty');
    checkbox('speak_critical');
    checkbox('autostart');

    const quiet = this.q<HTMLInputElement>('setting-quiet_hours');
    const from = this.q<HTMLInputElement>('setting-quiet-from');
    const to = this.q<HTMLInputElement>('setting-quiet-to');
    quiet.addEventListener('change', () => {
      if (!quiet.checked) return void this.send({ key: 'quiet_hours', value: null });
      void this.send({
        key: 'quiet_hours',
        value: { from: from.value || DEFAULT_QUIET.from, to: to.value || DEFAULT_QUIET.to },
      });
    });
    for (const time of [from, to]) {
      time.addEventListener('change', () => {
        if (quiet.checked && from.value && to.value) {
          void this.send({ key: 'quiet_hours', value: { from: from.value, to: to.value } });
        }
      });
    }

    const volume = this.q<HTMLInputElement>('setting-volume');
    volume.addEventListener('input', () => {
      this.q('setting-volume-value').textContent = `${volume.value}%`;
    });
    volume.addEventListener('change', () => void this.send({ key: 'volume', value: Number(volume.value) }));

    const theme = this.q<HTMLSelectElement>('setting-theme');
    theme.addEventListener('change', () =>
      void this.send({ key: 'theme', value: theme.value as SettingsPane['theme'] }),
    );
    this.q('settings-close').addEventListener('click', () => this.dialog.close());
  }

  /** Sends one change; shows what is in effect afterwards, or why it was refused (and the old value again). */
  private async send(change: PaneChange): Promise<void> {
    const name = SETTING_NAMES[change.key];
    this.status(`Saving ${name.toLowerCase()}…`);
    try {
      const pane = await this.backend.setSetting(change);
      this.show(pane);
      this.onApplied(pane);
      this.status(`${name}: saved and applied.`);
    } catch (e) {
      if (this.pane) this.show(this.pane);
      this.status(settingsErrorText(change.key, e), true);
    }
  }
}
