// The sign-in dialog: choose a profile (built in, or imported from a file), the server, the profile's variables,
// username and password. The login itself runs in Rust; the token goes to the OS keyring and never reaches this
// page. "Try the demo" starts the built-in demo backend and signs in to it the same way.

import type { Backend } from './backend';
import type { ProbeReport, ProfileInfo, ServerView, SignInForm } from './generated/types';
import { errorText } from './words';

export interface Prefill {
  profile?: string;
  server?: string;
  label?: string;
  /** The server's certificate authority file, kept when signing in again. */
  caFile?: string | null;
  /** Signing in again: the username is known, only the password is asked for. */
  username?: string;
  vars?: Partial<Record<string, string>>;
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
    this.q<HTMLInputElement>('sign-in-skip').addEventListener('change', () => this.showProfile());
    this.q('try-demo').addEventListener('click', () => void this.tryDemo());
    this.q('test-connection').addEventListener('click', () => void this.testConnection());
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
    if (prefill.caFile !== undefined) this.q<HTMLInputElement>('sign-in-ca-file').value = prefill.caFile ?? '';
    if (prefill.username !== undefined) this.q<HTMLInputElement>('sign-in-username').value = prefill.username;
    const vars = prefill.vars ?? {};
    for (const input of this.dialog.querySelectorAll<HTMLInputElement>('input[data-variable]')) {
      const value = vars[input.dataset.variable ?? ''];
      if (value !== undefined) input.value = value;
    }
    this.q<HTMLInputElement>('sign-in-password').value = '';
    if (!this.dialog.open) this.dialog.showModal();
    // Signing in again: everything but the password is there.
    const again = prefill.username !== undefined && !this.q('sign-in-credentials').hidden;
    (again ? this.q<HTMLInputElement>('sign-in-password') : this.q<HTMLSelectElement>('sign-in-profile')).focus();
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
      const file = p.name.split('/').pop() ?? p.name;
      option.textContent = p.builtin ? p.name : p.managed ? `${file} (your department's)` : `${file} (imported)`;
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
    // A server whose socket is open until it asks may be added without an account.
    const skippable = Boolean(p?.login && p.sign_in_optional);
    this.q('sign-in-skip-label').hidden = !skippable;
    const skip = this.q<HTMLInputElement>('sign-in-skip');
    if (!skippable) skip.checked = false;
    this.q('sign-in-credentials').hidden = p ? !p.login || skip.checked : false;
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

  /** The form as the Rust side takes it, or why it is not complete (said in the form). `account` false: the
   *  username may be left out (a connection test tries the server as it is). */
  private readForm(account: boolean): SignInForm | null {
    const p = this.current();
    const server = this.q<HTMLInputElement>('sign-in-server').value.trim();
    if (!p) return this.fail('Choose a profile.');
    if (!server) return this.fail('Enter the server URL, e.g. https://alerts.example.org');
    const vars: Record<string, string> = {};
    for (const input of this.dialog.querySelectorAll<HTMLInputElement>('input[data-variable]')) {
      const name = input.dataset.variable ?? '';
      if (input.value.trim()) vars[name] = input.value.trim();
      else if (input.required) return this.fail(`Fill in ${name}.`);
    }
    const caFile = this.q<HTMLInputElement>('sign-in-ca-file').value.trim();
    if (caFile && !caFile.startsWith('/')) {
      return this.fail('Give the certificate authority file as a full path, starting with /.');
    }
    const skip = p.sign_in_optional && this.q<HTMLInputElement>('sign-in-skip').checked;
    const username = skip ? '' : this.q<HTMLInputElement>('sign-in-username').value.trim();
    if (account && p.login && !skip && !username) {
      return this.fail(
        p.sign_in_optional
          ? 'Enter your username and password, or tick "This server needs no sign-in".'
          : 'Enter your username and password.',
      );
    }
    return {
      profile: p.name,
      server,
      label: this.q<HTMLInputElement>('sign-in-label').value.trim() || null,
      vars,
      username,
      password: skip ? '' : this.q<HTMLInputElement>('sign-in-password').value,
      ca_file: caFile || null,
    };
  }

  private fail(message: string): null {
    this.error(message);
    return null;
  }

  private async submit(): Promise<void> {
    const form = this.readForm(true);
    if (form) await this.attempt(() => this.backend.signIn(form));
  }

  /** "Test connection": what the server speaks, held against the profile, shown in the form. */
  private async testConnection(): Promise<void> {
    const form = this.readForm(false);
    if (!form) return;
    const box = this.q('sign-in-test');
    this.error('');
    box.hidden = false;
    box.textContent = 'Testing the connection for a few seconds…';
    this.busy(true);
    try {
      const report = await this.backend.testConnection(form);
      box.replaceChildren(...probeLines(report).map((line) => {
        const p = document.createElement('p');
        p.textContent = line;
        return p;
      }));
    } catch (e) {
      box.hidden = true;
      this.error(`Cannot test the connection: ${errorText(e)}`);
    } finally {
      this.busy(false);
    }
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

/** A connection test's findings as short sentences: the connection, the REST API, each list, each event, advice. */
export function probeLines(r: ProbeReport): string[] {
  const c = r.connection;
  const lines: string[] = [];
  if (c.connected) lines.push(`Connected over ${c.protocol ?? '?'} at ${c.path ?? '?'}.`);
  else lines.push('Could not connect.');
  if (c.auth_needed === false) lines.push('The server needs no sign-in on its socket.');
  else if (c.auth_needed === true && c.token_accepted === true) lines.push('The server needs a sign-in; yours works.');
  else if (c.auth_needed === true && c.token_accepted === false) lines.push('The server refused the sign-in.');
  else if (c.auth_needed === true) lines.push('The server needs a sign-in: enter your username and password.');
  if (r.api_base) {
    const where = r.api_base.base === '' ? 'the root' : r.api_base.base;
    lines.push(r.api_base.answered ? `Its REST API is at ${where}.` : 'Its REST API was not found at the usual paths.');
  }
  for (const l of r.lists) lines.push(l.ok ? `${l.list}: ${l.records} records.` : `${l.list}: ${l.error ?? l.status}.`);
  for (const e of r.events) lines.push(`Event ${e.name} (×${e.count}): ${e.outcome}${e.title ? ` — “${e.title}”` : ''}.`);
  if (c.connected && r.events.length === 0) lines.push('No events arrived while testing (that is fine on a quiet server).');
  for (const a of r.advice) lines.push(`• ${a}`);
  return lines;
}
