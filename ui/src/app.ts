// The window's first view: what build is running, and whether settings were ignored.
// Server- or file-derived text is always set with textContent, never parsed as HTML.

/** Mirrors `commands::AppInfo` in src-tauri/src/commands.rs. */
export interface AppInfo {
  name: string;
  version: string;
  settingsError: string | null;
}

export type Invoke = <T>(cmd: string, args?: Record<string, unknown>) => Promise<T>;

export function renderAppInfo(doc: Document, info: AppInfo): void {
  const version = doc.querySelector<HTMLElement>('[data-testid="app-version"]');
  if (version) version.textContent = `v${info.version}`;
  doc.title = info.name;
  const banner = doc.querySelector<HTMLElement>('[data-testid="settings-error"]');
  if (banner) {
    banner.textContent = info.settingsError ? `Settings ignored, using defaults: ${info.settingsError}` : '';
    banner.hidden = !info.settingsError;
  }
}

export function renderFailure(doc: Document, error: unknown): void {
  const banner = doc.querySelector<HTMLElement>('[data-testid="settings-error"]');
  if (banner) {
    banner.textContent = `Cannot reach the Alertdesk core: ${String(error)}`;
    banner.hidden = false;
  }
}

export async function boot(doc: Document, invoke: Invoke): Promise<void> {
  try {
    renderAppInfo(doc, await invoke<AppInfo>('app_info'));
  } catch (error) {
    renderFailure(doc, error);
  }
}
