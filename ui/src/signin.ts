// The sign-in dialog: choose a profile (built in, or imported from a file), the server, the profile's variables,
// username and password. The login itself runs in Rust; the token goes to the OS keyring and never reaches this
// page. "Try the demo" starts the built-in demo backend and signs in to it the same way.

import type { Backend } from './backend';
import type { ProfileInfo, ServerView } from './generated/types';
import { errorText } from './words';

export interface Prefill {
  profile?: string;
  server?: string;
  label?: string;
}

export class SignIn {
  private profiles: ProfileInfo[] = [];
  private readonly form: HTMLFormElement;
  private readonly q: <T extends HTMLElement>(testid: string) => T;

  constructor(
    private readonly dialog: HTMLDialogElement,
    private readonly backend: Backend,
    private readonly onSignedIn: (server: ServerView) => void,
  ) {
    this.q = <T extends HTMLElement>(testid: string) => {
      const found = dialog.querySelector<T>(`[data-testid="${testid}"]`);
      if (!found) throw new Error(`sign-in: missing ${testid}`);
      return found;
    };
    this.form = this.q<HTMLFormElement>('sign-in-form');
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.q<HTMLSelectElement>('sign-in-profile').addEventListener('change', () => this.showProfile());
    this.q('try-demo').addEventListener('click', () => void this.tryDemo());
    this.q('sign-in-cancel').addEventListener('click', () => this.close());
    this.q<HTMLInputElement>('import-profile').addEventListener('change', (event) => {
      const input = event.target as HTMLInputElement;
      const file = input.files?.[0];
      if (file) void this.importFile(file).finally(() => (input.value = ''));
    });
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  async open(prefill: Prefill = {}, cancellable = true): Promise<void> {
    this.error('');
    this.q('sign-in-cancel').hidden = !cancellable;
    this.dialog.dataset.cancellable = String(cancellable);
    try {
      this.profiles = await this.backend.profiles();
    } catch (e) {
      this.error(`Cannot list the profiles: ${errorText(e)}`);
    }
    this.fillProfiles(prefill.profile);
    if (prefill.server !== undefined) this.q<HTMLInputElement>('sign-in-server').value = prefill.server;
    if (prefill.label !== undefined) this.q<HTMLInputElement>('sign-in-label').value = prefill.label;
    this.q<HTMLInputElement>('sign-in-password').value = '';
    if (!this.dialog.open) this.dialog.showModal();
    this.q<HTMLSelectElement>('sign-in-profile').focus();
  }

  close(): void {
    this.q<HTMLInputElement>('sign-in-password').value = '';
    if (this.dialog.open) this.dialog.close();
  }

  private fillProfiles(selected?: string): void {
    const select = this.q<HTMLSelectElement>('sign-in-profile');
    const keep = selected ?? select.value;
    select.replaceChildren();
    for (const p of this.profiles) {
      const option = document.createElement('option');
      option.value = p.name;
      option.textContent = p.builtin ? p.name : `${p.name.split('/').pop() ?? p.name} (imported)`;
      select.append(option);
    }
    const preferred = this.profiles.find((p) => p.name === keep) ?? this.profiles.find((p) => p.name !== 'demo');
    if (preferred) select.value = preferred.name;
    this.showProfile();
  }

  private current(): ProfileInfo | undefined {
    const name = this.q<HTMLSelectElement>('sign-in-profile').value;
    return this.profiles.find((p) => p.name === name);
  }

  /** Shows the chosen profile's description, server, variables and whether it needs an account. */
  private showProfile(): void {
    const p = this.current();
    this.q('profile-description').textContent = p?.description ?? '';
    const server = this.q<HTMLInputElement>('sign-in-server');
    if (p?.default_server && !server.value) server.value = p.default_server;
    const fields = this.q<HTMLFieldSetElement>('sign-in-variables');
    fields.querySelectorAll('label').forEach((l) => l.remove());
    for (const v of p?.variables ?? []) {
      const label = document.createElement('label');
      label.textContent = v.required ? `${v.name} (required)` : v.name;
      const input = document.createElement('input');
      input.name = `var:${v.name}`;
      input.dataset.variable = v.name;
      input.setAttribute('data-testid', `sign-in-var-${v.name}`);
      input.placeholder = v.default ?? '';
      input.required = v.required;
      input.title = v.description;
      const hint = document.createElement('small');
      hint.textContent = v.description;
      label.append(input, hint);
      fields.append(label);
    }
    fields.hidden = (p?.variables.length ?? 0) === 0;
    this.q('sign-in-credentials').hidden = p ? !p.login : false;
  }

  private error(message: string): void {
    const box = this.q('sign-in-error');
    box.textContent = message;
    box.hidden = message === '';
  }

  private busy(on: boolean): void {
    for (const b of this.dialog.querySelectorAll<HTMLButtonElement>('button')) b.disabled = on;
    this.form.setAttribute('aria-busy', String(on));
  }

  private async submit(): Promise<void> {
    const p = this.current();
    const server = this.q<HTMLInputElement>('sign-in-server').value.trim();
    if (!p) return this.error('Choose a profile.');
    if (!server) return this.error('Enter the server URL, e.g. https://alerts.example.org');
    const vars: Record<string, string> = {};
    for (const input of this.dialog.querySelectorAll<HTMLInputElement>('input[data-variable]')) {
      const name = input.dataset.variable ?? '';
      if (input.value.trim()) vars[name] = input.value.trim();
      else if (input.required) return this.error(`Fill in ${name}.`);
    }
    const username = this.q<HTMLInputElement>('sign-in-username').value.trim();
    if (p.login && !username) return this.error('Enter your username and password.');
    await this.attempt(() =>
      this.backend.signIn({
        profile: p.name,
        server,
        label: this.q<HTMLInputElement>('sign-in-label').value.trim() || null,
        vars,
        username,
        password: this.q<HTMLInputElement>('sign-in-password').value,
      }),
    );
  }

  private tryDemo(): Promise<void> {
    return this.attempt(() => this.backend.tryDemo());
  }

  /** Runs a sign-in with the form busy; closes it on success, shows the reason otherwise. The password field is
   *  emptied either way. */
  private async attempt(signIn: () => Promise<ServerView>): Promise<void> {
    this.error('');
    this.busy(true);
    try {
      const view = await signIn();
      this.close();
      this.onSignedIn(view);
    } catch (e) {
      this.error(errorText(e));
    } finally {
      this.busy(false);
      this.q<HTMLInputElement>('sign-in-password').value = '';
    }
  }

  private async importFile(file: File): Promise<void> {
    try {
      const info = await this.backend.importProfile(file.name, await file.text());
      this.profiles = [...this.profiles.filter((p) => p.name !== info.name), info];
      this.fillProfiles(info.name);
      this.error('');
    } catch (e) {
      this.error(errorText(e));
    }
  }
}
