// The window: a view of the Rust core's state. Events arrive batched (at most every 50 ms) and are drawn as they
// come; the list's rows live on the Rust side and come a window at a time (list.ts). Server- or file-derived text
// is always set with textContent, never parsed as HTML.

import type { AppInfo, Backend } from './backend';
import { renderDetail } from './detail';
import { linkReason, linkText, notificationsText } from './format';
import type { AlertDetail, AlertRow, DeskEvent, Kind, ListWindow, NoticeLevel, Priority, ServerView } from './generated/types';
import { VirtualList } from './list';
import { keyOf, listFilter, Model, splitKey } from './model';
import type { SettingsPane } from './generated/settings';
import { SettingsView } from './settings';
import { SignIn } from './signin';
import { UpdatePrompt } from './updates';
import { errorText, noticeText, restoringText, sessionText, unencryptedText } from './words';

/** Light or dark: `[window] theme`, or the system's preference (followed as it changes) for "system". Called
 *  again when the setting changes; the system's preference is watched once. */
export function applyTheme(doc: Document, theme: AppInfo['theme']): void {
  const root = doc.documentElement;
  root.dataset.themeSetting = theme;
  const media = doc.defaultView?.matchMedia?.('(prefers-color-scheme: dark)');
  const apply = () => {
    const wanted = root.dataset.themeSetting;
    root.dataset.theme = wanted === 'system' ? (media?.matches ? 'dark' : 'light') : wanted;
  };
  apply();
  if (media && root.dataset.themeWatched !== 'true') {
    root.dataset.themeWatched = 'true';
    media.addEventListener('change', apply);
  }
}

export function renderAppInfo(doc: Document, info: AppInfo): void {
  applyTheme(doc, info.theme);
  const version = doc.querySelector<HTMLElement>('[data-testid="app-version"]');
  if (version) version.textContent = `v${info.version}`;
  renderSettingsProblems(doc, info.settingsProblems);
}

/** The banner of settings left out (not valid), or none: at start, and again whenever the settings change. */
export function renderSettingsProblems(doc: Document, problems: readonly string[]): void {
  const banner = doc.querySelector<HTMLElement>('[data-testid="settings-error"]');
  if (banner) {
    banner.textContent = problems.length ? `Settings left out (the rest apply): ${problems.join('; ')}` : '';
    banner.hidden = problems.length === 0;
  }
}

export function renderFailure(doc: Document, error: unknown): void {
  const banner = doc.querySelector<HTMLElement>('[data-testid="settings-error"]');
  if (banner) {
    banner.textContent = `Cannot reach the Alertdesk core: ${errorText(error)}`;
    banner.hidden = false;
  }
}

export class App {
  readonly model = new Model();
  private readonly list: VirtualList;
  private readonly signIn: SignIn;
  private readonly settings: SettingsView;
  private selected: string | null = null;
  /** The alert shown in the detail pane, and the version of it that was drawn. */
  private detailShown: { key: string; version: string; alert: AlertRow } | null = null;
  /** The alert marked read by the latest open (not asked twice: from its window and its detail pane both). */
  private reading: string | null = null;
  /** The user closed the first-run sign-in: do not open it again by itself. */
  private signInDismissed = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly keyListener = (event: KeyboardEvent) => this.onKey(event);

  constructor(
    private readonly doc: Document,
    private readonly backend: Backend,
  ) {
    const viewport = this.get('alert-list');
    this.list = new VirtualList(
      viewport,
      viewport.querySelector<HTMLElement>('.spacer-rows') ?? viewport,
      this.model,
      (key) => this.open(key),
      (request) => this.backend.listWindow(request),
      (window) => this.drawList(window),
    );
    this.signIn = new SignIn(this.get<HTMLDialogElement>('sign-in'), backend, () => {
      this.signInDismissed = true;
    });
    this.get<HTMLDialogElement>('sign-in').addEventListener('close', () => {
      this.signInDismissed = true;
    });
    this.settings = new SettingsView(this.get<HTMLDialogElement>('settings'), backend, (pane) =>
      this.settingsApplied(pane),
    );
    this.wire();
  }

  private get<T extends HTMLElement = HTMLElement>(testid: string): T {
    const found = this.doc.querySelector<T>(`[data-testid="${testid}"]`);
    if (!found) throw new Error(`missing element ${testid}`);
    return found;
  }

  async start(): Promise<void> {
    try {
      renderAppInfo(this.doc, await this.backend.appInfo());
      await this.backend.subscribe((event) => this.onEvent(event));
    } catch (error) {
      renderFailure(this.doc, error);
    }
    await new UpdatePrompt(this.get('update-banner'), this.backend).start();
    try {
      // A settings file changed outside the window (`alertdesk settings set`, an editor, the department).
      await this.backend.onSettingsChanged((pane) => {
        this.settingsApplied(pane);
        if (this.settings.isOpen) this.settings.show(pane);
      });
    } catch (e) {
      console.warn('settings changes are not followed', e);
    }
    // Countdowns ("reconnecting in 4 s") and "offline since" tick without events.
    this.ticker = setInterval(() => this.drawServers(), 1000);
  }

  /** What the window itself shows of the settings: the theme and the settings left out. The Rust side applied
   *  the rest. */
  private settingsApplied(pane: SettingsPane): void {
    applyTheme(this.doc, pane.theme);
    renderSettingsProblems(this.doc, pane.problems);
  }

  /** Stops listening (tests start a fresh App per page). */
  dispose(): void {
    clearInterval(this.ticker);
    this.doc.removeEventListener('keydown', this.keyListener);
  }

  onEvent(event: DeskEvent): void {
    switch (event.type) {
      case 'notice': {
        const text = noticeText(event.notice);
        if (text) this.notice(event.level, text);
        return;
      }
      case 'signIn':
        this.signInAgain(event.server);
        return;
      case 'focus':
        this.open(keyOf(event));
        return;
      default:
        // Drawn at once: the Rust side already batches (at most every 50 ms), and waiting for a frame here
        // would add up to one more frame to every alert's way onto the screen.
        this.model.apply(event);
        this.draw();
        if (event.list) this.list.apply(event.list);
        else if (event.type === 'snapshot') void this.list.request();
        if (this.detailShown && event.changed.some((k) => keyOf(k) === this.detailShown?.key)) {
          void this.showDetail(this.detailShown.key); // its alert changed: read it again
        }
    }
  }

  /** Draws everything from the model now. */
  draw(): void {
    const m = this.model;
    const badge = this.get('unread-badge');
    badge.textContent = String(m.unread);
    badge.dataset.count = String(m.unread);
    badge.setAttribute('aria-label', `${m.unread} unread alerts`);
    this.doc.title = m.unread > 0 ? `Alertdesk (${m.unread})` : 'Alertdesk';

    const notifications = this.get('notifications-state');
    const text = notificationsText(m.notifications);
    notifications.hidden = text === '';
    notifications.dataset.mode = m.notifications.mode;
    notifications.querySelector('.text')!.textContent = text;
    const failure = this.get('notify-failure');
    failure.hidden = m.notify_failure === null;
    failure.textContent = m.notify_failure
      ? `Desktop notifications do not work (${m.notify_failure}). Alerts still arrive here: keep this window in view.`
      : '';

    const restoring = this.get('restoring');
    restoring.hidden = m.restoring === null;
    restoring.textContent = restoringText(m.restoring);

    this.drawServers();
    this.drawSignInBanners(m.needsSignIn());
    this.drawUnencryptedBanners(m.servers.filter((s) => s.unencrypted));
    this.drawServerFilter();

    // The saved servers come back after start: no sign-in screen while they are still being connected.
    if (m.loaded && m.restoring === null && m.servers.length === 0 && !this.signInDismissed && !this.signIn.isOpen) {
      void this.signIn.open({}, true);
    }
  }

  /** The count and the empty state, from the list's window. */
  private drawList(window: ListWindow): void {
    this.get('empty-state').hidden = window.total > 0;
    const count = this.get('list-count');
    count.textContent = window.alerts === window.all ? `${window.alerts} alerts` : `${window.alerts} of ${window.all} alerts`;
  }

  private drawServers(): void {
    const nav = this.get('servers');
    nav.replaceChildren();
    for (const s of this.model.servers) nav.append(this.serverChip(s));
  }

  private serverChip(s: ServerView): HTMLElement {
    const chip = this.doc.createElement('div');
    chip.className = `server state-${s.link.status}`;
    chip.setAttribute('data-testid', 'server-status');
    chip.dataset.state = s.link.status;
    chip.dataset.serverId = s.server;
    chip.title = [s.server, linkReason(s.link)].filter(Boolean).join('\n');
    const dot = this.doc.createElement('span');
    dot.className = 'dot';
    dot.setAttribute('aria-hidden', 'true');
    const label = this.doc.createElement('span');
    label.className = 'label';
    label.textContent = s.label;
    const state = this.doc.createElement('span');
    state.className = 'state';
    state.textContent = linkText(s);
    const unread = this.doc.createElement('span');
    unread.className = 'unread';
    unread.textContent = s.unread > 0 ? String(s.unread) : '';
    const out = this.doc.createElement('button');
    out.type = 'button';
    out.className = 'sign-out';
    out.textContent = '×';
    out.setAttribute('data-testid', 'sign-out');
    out.setAttribute('aria-label', `Sign out of ${s.label}`);
    out.addEventListener('click', () => this.signOut(s, out));
    // The department's servers stay: no sign-out, and the chip says whose they are.
    out.hidden = s.managed;
    if (s.managed) chip.title = `${chip.title}\nSet up by your department`;
    chip.append(dot, label, state, unread, out);
    if (s.unencrypted) {
      chip.classList.add('unencrypted');
      const open = this.doc.createElement('span');
      open.className = 'unencrypted';
      open.setAttribute('data-testid', 'server-unencrypted');
      open.textContent = 'Not encrypted';
      open.title = unencryptedText(s);
      label.after(open);
    }
    chip.setAttribute('role', 'status');
    chip.setAttribute('aria-label', `${s.label}: ${linkText(s)}, ${s.unread} unread`);
    return chip;
  }

  /** Two clicks: the first asks, the second signs out. */
  private signOut(s: ServerView, button: HTMLButtonElement): void {
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.textContent = 'Sign out?';
      setTimeout(() => {
        button.dataset.armed = 'false';
        button.textContent = '×';
      }, 4000);
      return;
    }
    this.backend.signOut(s.server).catch((e) => this.notice('error', `Cannot sign out of ${s.label}: ${errorText(e)}`));
  }

  private drawSignInBanners(servers: ServerView[]): void {
    const box = this.get('sign-in-banners');
    box.replaceChildren();
    for (const s of servers) {
      const banner = this.doc.createElement('div');
      banner.className = 'banner error';
      banner.setAttribute('role', 'alert');
      banner.setAttribute('data-testid', 'sign-in-again');
      banner.dataset.serverId = s.server;
      const text = this.doc.createElement('span');
      if (s.link.status === 'auth_failed') {
        text.textContent = `${s.label}: ${linkReason(s.link) || 'the server refused the credentials'}. Alerts from it are not arriving.`;
      } else {
        banner.dataset.ending = 'true';
        text.textContent = `${sessionText(s.label, s.session?.expires_at ?? '')} Sign in again to keep alerts arriving.`;
      }
      const again = this.doc.createElement('button');
      again.type = 'button';
      again.textContent = 'Sign in again';
      again.setAttribute('data-testid', 'sign-in-again-button');
      again.addEventListener('click', () => this.signInAgain(s.server));
      banner.append(text, again);
      box.append(banner);
    }
  }

  /** One lasting warning per server reached over plain http:// across the network. */
  private drawUnencryptedBanners(servers: ServerView[]): void {
    const box = this.get('unencrypted-banners');
    box.replaceChildren();
    for (const s of servers) {
      const banner = this.doc.createElement('div');
      banner.className = 'banner warn';
      banner.setAttribute('role', 'status');
      banner.setAttribute('data-testid', 'unencrypted-warning');
      banner.dataset.serverId = s.server;
      banner.textContent = unencryptedText(s);
      box.append(banner);
    }
  }

  /** The sign-in form filled in for `server` (profile, address, name, variables, username): only the password
   *  is left to type. */
  signInAgain(server: string): void {
    const s = this.model.servers.find((x) => x.server === server);
    if (!s) {
      void this.signIn.open({ server });
      return;
    }
    void this.signIn.open({
      profile: s.sign_in.profile,
      server: s.server,
      label: s.label,
      username: s.sign_in.username ?? undefined,
      vars: s.sign_in.vars,
      caFile: s.ca_file,
    });
  }

  private drawServerFilter(): void {
    const select = this.get<HTMLSelectElement>('filter-server');
    const want = ['', ...this.model.servers.map((s) => s.server)];
    const have = [...select.options].map((o) => o.value);
    if (want.join('\n') === have.join('\n')) return;
    const value = select.value;
    select.replaceChildren();
    for (const server of want) {
      const option = this.doc.createElement('option');
      option.value = server;
      option.textContent = server === '' ? 'All servers' : this.model.serverLabel(server);
      select.append(option);
    }
    select.value = want.includes(value) ? value : '';
  }

  notice(level: NoticeLevel, message: string): void {
    const box = this.get('notices');
    const n = this.doc.createElement('div');
    n.className = `banner ${level}`;
    n.setAttribute('role', level === 'info' ? 'status' : 'alert');
    n.setAttribute('data-testid', 'notice');
    const text = this.doc.createElement('span');
    text.textContent = message;
    const dismiss = this.doc.createElement('button');
    dismiss.type = 'button';
    dismiss.textContent = 'Dismiss';
    dismiss.addEventListener('click', () => n.remove());
    n.append(text, dismiss);
    box.prepend(n);
    while (box.children.length > 4) box.lastElementChild?.remove();
    if (level === 'info') setTimeout(() => n.remove(), 10_000);
  }

  /** Selects a row; for an alert, marks it read and shows its details (scrolled to, when it is not in view). */
  open(key: string): void {
    this.reading = null;
    this.select(key);
    const target = splitKey(key);
    if (!target) return;
    const alert = this.list.alert(key);
    if (!alert) {
      // Not in the rows held (a notification's "Open"): the window around it, selected and read once it is there.
      void this.list.request(target).then(() => {
        if (this.selected !== key) return;
        this.list.select(key);
        const row = this.list.alert(key);
        if (row?.read_at === null) this.readNow(key, row);
      });
    } else if (alert.read_at === null) {
      this.readNow(key, alert);
    }
    void this.showDetail(key);
  }

  private select(key: string | null): void {
    this.selected = key;
    this.list.select(key);
  }

  /** The latest row known for an alert: held in the list, or shown in the detail pane. */
  private alertOf(key: string | null): AlertRow | undefined {
    if (!key) return undefined;
    return this.list.alert(key) ?? (this.detailShown?.key === key ? this.detailShown.alert : undefined);
  }

  /** Changes made here ahead of the Rust side's confirmation; the next batch brings the truth. */
  private patch(key: string, change: Partial<AlertRow>): void {
    this.list.patch(key, change);
    if (this.detailShown?.key === key) this.detailShown.alert = { ...this.detailShown.alert, ...change };
  }

  private readNow(key: string, alert: AlertRow): void {
    if (this.reading === key) return; // asked already (from the window and the detail pane both)
    this.reading = key;
    this.patch(key, { read_at: new Date().toISOString() });
    this.backend.markRead(alert.server, alert.id).catch((e) => this.notice('warning', `Cannot mark it read: ${errorText(e)}`));
  }

  private async showDetail(key: string): Promise<void> {
    const target = splitKey(key);
    if (!target) return;
    const pane = this.get('detail-pane');
    let detail: AlertDetail;
    try {
      detail = await this.backend.detail(target.server, target.id);
    } catch (e) {
      if (this.selected === key) this.notice('warning', `Cannot show the alert: ${errorText(e)}`);
      return;
    }
    if (this.selected !== key) return;
    // Opened from outside the rows held: mark it read here.
    if (detail.alert.read_at === null && !this.list.alert(key)) this.readNow(key, detail.alert);
    this.detailShown = { key, version: version(detail.alert), alert: detail.alert };
    renderDetail(pane, detail, this.model.serverLabel(target.server), {
      acknowledge: () => this.acknowledge(key),
      respond: (name) => this.respond(key, name),
      close: () => this.closeDetail(),
    });
  }

  private closeDetail(): void {
    this.detailShown = null;
    const pane = this.get('detail-pane');
    pane.hidden = true;
    pane.replaceChildren();
  }

  acknowledge(key: string | null = this.selected): void {
    const alert = this.alertOf(key);
    if (!key || !alert || alert.acknowledged_at) return;
    const now = new Date().toISOString();
    this.patch(key, { acknowledged_at: now, read_at: alert.read_at ?? now });
    this.backend.acknowledge(alert.server, alert.id).catch((e) => this.notice('error', `Cannot acknowledge: ${errorText(e)}`));
  }

  /** A status response: acknowledged here at once; the server hears it through the outbox. */
  respond(key: string, name: string): void {
    const alert = this.alertOf(key);
    if (!alert) return;
    const now = new Date().toISOString();
    this.patch(key, { acknowledged_at: alert.acknowledged_at ?? now, read_at: alert.read_at ?? now });
    this.backend.respond(alert.server, alert.id, name).catch((e) => this.notice('error', `Cannot send the response: ${errorText(e)}`));
  }

  markRead(key: string | null = this.selected): void {
    const alert = this.alertOf(key);
    if (!key || !alert || alert.read_at) return;
    this.reading = null;
    this.readNow(key, alert);
  }

  markAllRead(): void {
    this.backend.markAllRead().catch((e) => this.notice('error', `Cannot mark all read: ${errorText(e)}`));
  }

  /** Moves the selection by `step` rows (j/k), skipping nothing: gap notices can be selected too. */
  move(step: number): void {
    if (this.list.length === 0) return;
    const at = this.list.indexOf(this.selected);
    const next = at < 0 ? this.list.firstVisible() : Math.min(this.list.length - 1, Math.max(0, at + step));
    const item = this.list.itemAt(next);
    if (item) this.select(item.key);
    else
      void this.list.ensure(next).then((found) => {
        if (found) this.select(found.key);
      });
  }

  private wire(): void {
    this.get('mark-all-read').addEventListener('click', () => this.markAllRead());
    this.get('clear-read').addEventListener('click', () => {
      this.backend
        .clearRead()
        .then((n) => this.notice('info', `Removed ${n} read alerts.`))
        .catch((e) => this.notice('error', `Cannot clear read alerts: ${errorText(e)}`));
    });
    this.get('add-server').addEventListener('click', () => void this.signIn.open());
    this.get('open-settings').addEventListener('click', () => void this.settings.open());
    this.get('help').addEventListener('click', () => this.help());
    this.get('resume').addEventListener('click', () => {
      this.backend.setNotifications({ mode: 'resume' }).catch((e) => this.notice('error', errorText(e)));
      if (this.model.notifications.mode === 'silenced') {
        this.backend.setNotifications({ mode: 'silence', on: false }).catch((e) => this.notice('error', errorText(e)));
      }
    });
    this.wirePauseMenu();

    const search = this.get<HTMLInputElement>('search');
    search.addEventListener('input', () => this.filter({ text: search.value }));
    const server = this.get<HTMLSelectElement>('filter-server');
    server.addEventListener('change', () => this.filter({ server: server.value }));
    const kind = this.get<HTMLSelectElement>('filter-kind');
    kind.addEventListener('change', () => this.filter({ kind: kind.value as Kind | '' }));
    const priority = this.get<HTMLSelectElement>('filter-priority');
    priority.addEventListener('change', () => this.filter({ minPriority: priority.value as Priority | '' }));
    const unread = this.get<HTMLInputElement>('filter-unread');
    unread.addEventListener('change', () => this.filter({ unreadOnly: unread.checked }));

    this.doc.addEventListener('keydown', this.keyListener);
  }

  private wirePauseMenu(): void {
    const button = this.get('pause');
    const menu = this.get('pause-menu');
    const show = (on: boolean) => {
      menu.hidden = !on;
      button.setAttribute('aria-expanded', String(on));
      if (on) menu.querySelector<HTMLElement>('button')?.focus();
    };
    button.addEventListener('click', () => show(menu.hidden));
    menu.addEventListener('click', (event) => {
      const choice = (event.target as HTMLElement).closest<HTMLElement>('[data-pause]')?.dataset.pause;
      show(false);
      if (choice === 'silence') return this.confirmSilence();
      if (!choice) return;
      const minutes = choice === 'until' ? null : Number(choice);
      this.backend.setNotifications({ mode: 'pause', minutes }).catch((e) => this.notice('error', errorText(e)));
    });
  }

  /** Silencing critical alerts needs a confirmation: it must not happen by accident. */
  private confirmSilence(): void {
    const dialog = this.get<HTMLDialogElement>('confirm');
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      () => {
        if (dialog.returnValue === 'ok') {
          this.backend.setNotifications({ mode: 'silence', on: true }).catch((e) => this.notice('error', errorText(e)));
        }
      },
      { once: true },
    );
    dialog.showModal();
  }

  private filter(change: Parameters<Model['setFilters']>[0]): void {
    this.model.setFilters(change);
    this.list.setFilter(listFilter(this.model.filters));
  }

  private help(): void {
    const dialog = this.get<HTMLDialogElement>('help-overlay');
    if (!dialog.open) dialog.showModal();
  }

  private onKey(event: KeyboardEvent): void {
    const target = event.target instanceof HTMLElement ? event.target : null;
    const typing = target !== null && (target.matches('input, select, textarea') || target.isContentEditable);
    if (this.doc.querySelector('dialog[open]')) return; // dialogs handle their own keys (Esc closes)
    if (event.key === 'Escape') {
      if (typing && target) {
        target.blur();
        this.get('alert-list').focus();
      } else this.closeDetail();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const actions: Record<string, () => void> = {
      j: () => this.move(1),
      ArrowDown: () => this.move(1),
      k: () => this.move(-1),
      ArrowUp: () => this.move(-1),
      Enter: () => this.selected && this.open(this.selected),
      a: () => this.acknowledge(),
      r: () => this.markRead(),
      R: () => this.markAllRead(),
      '/': () => this.get('search').focus(),
      '?': () => this.help(),
      ',': () => void this.settings.open(),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }
}

function version(a: {
  read_at: string | null;
  acknowledged_at: string | null;
  received_at: string;
  update_count: number;
  notified_at: string | null;
  responses: Array<{ state: string; attempts: number }>;
}): string {
  const sent = a.responses.map((r) => `${r.state}${r.attempts}`).join(',');
  return `${a.received_at}|${a.update_count}|${a.read_at ?? ''}|${a.acknowledged_at ?? ''}|${a.notified_at ?? ''}|${sent}`;
}

export async function boot(doc: Document, backend: Backend): Promise<App> {
  const app = new App(doc, backend);
  await app.start();
  return app;
}
