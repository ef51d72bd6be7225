// The window's words for what the Rust side reports as facts: notices (`Notice`) and errors (`ErrorView`,
// `{kind, message}`). The core says what happened; this says it for someone looking at this window, and what to
// do about it here (the terminal words the same facts its own way).

import { clock } from './format';
import type { PaneKey, SettingsErrorView } from './generated/settings';
import type { EngineErrorKind, ErrorView, Notice, Progress, ServerView } from './generated/types';

/** A notice as the window shows it. */
export function noticeText(n: Notice): string {
  switch (n.kind) {
    case 'historyFailed':
      return `Cannot write the alert history (${n.message}). Alerts are shown and notified, but not kept.`;
    case 'notificationsFailed':
      return `Desktop notifications do not work (${n.message}). Alerts still arrive in this window; keep it in view.`;
    case 'acknowledged':
      return `Acknowledged ${n.id}.`;
    case 'responded':
      return `${n.response}: sent for ${n.id}.`;
    case 'writeBackFailed':
      return `“${n.title}”: ${n.response} was kept here, but ${n.server} refused it: ${n.message}`;
    case 'responseDelayed':
      return `“${n.title}”: ${n.response} did not reach ${n.server} yet (${n.message}). It is sent again until it does.`;
    case 'responseDelivered':
      return `“${n.title}”: ${n.response} reached ${n.server}.`;
    case 'escalated':
      return 'An alert is still unacknowledged after repeated notifications.';
    case 'departmentFileInvalid':
      return `Your department's set-up could not all be read (${n.message}); some of its servers are missing. Tell your administrator.`;
    case 'serversFileInvalid':
      return `${n.message}. Sign in to your servers again.`;
    case 'serversFileNotSaved':
      return `Cannot save the server list (${n.message}); your servers are connected now but may not come back at the next start.`;
    case 'connectFailed':
      return `Cannot connect ${n.server}: ${errorView(n.error)}`;
    case 'gap':
      return `${n.label} was offline and cannot say what was missed: ${n.reason}. Alerts from then may be missing.`;
    case 'problem':
      return `${n.label}: ${n.message}. Check the server's profile (Add server → Test connection, or alertdesk profile probe).`;
    case 'sessionEnding':
      return ''; // the "Sign in again" banner says it, and stays until signed in again
    case 'sessionRenewed':
      return ''; // renewed without the user: nothing to say in the window
  }
}

/** "Station 4: the sign-in ends at 14:30 and cannot be renewed." (or "ended at", once it has). */
export function sessionText(label: string, expiresAt: string, now: number = Date.now()): string {
  const verb = new Date(expiresAt).getTime() <= now ? 'ended' : 'ends';
  return `${label}: the sign-in ${verb} at ${clock(expiresAt)} and cannot be renewed.`;
}

const ADVICE: Partial<Record<EngineErrorKind, string>> = {
  credentials: 'Check the username and password.',
  noToken: 'Sign in to it.',
  network: 'Check the server address and the network.',
  keyring: 'The system keyring must be unlocked to keep the token.',
  history: 'The alert history is not available.',
  conflict: 'Sign out of it first.',
  networkSettings: 'Check the certificate file, or the [network] settings in settings.toml.',
  managed: 'Your department manages it.',
};

function isErrorView(e: unknown): e is ErrorView {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}

function errorView(e: ErrorView): string {
  const advice = ADVICE[e.kind];
  return advice ? `${e.message}. ${advice}` : e.message;
}

/** Any error a command rejected with, as one sentence: an `ErrorView` gets the window's advice for its kind. */
export function errorText(e: unknown): string {
  if (isErrorView(e)) return errorView(e);
  if (e instanceof Error) return e.message;
  return String(e);
}

/** "Restoring servers: 1 of 3", while saved servers are being connected after start. */
export function restoringText(p: Progress | null): string {
  return p ? `Connecting your servers: ${p.done} of ${p.total}…` : '';
}

/** Why a server reached over plain http:// across the network is a risk, and what to ask for. */
export function unencryptedText(s: ServerView): string {
  return `${s.label} is reached over http://, not encrypted: its alerts and your sign-in cross the network readable by anyone on the way. Ask your IT for its https:// address.`;
}

/** The pane's name for each setting, for messages. */
export const SETTING_NAMES: Record<PaneKey, string> = {
  on_duty: 'On duty',
  quiet_hours: 'Quiet hours',
  volume: 'Sound volume',
  speak_critical: 'Reading critical alerts aloud',
  autostart: 'Starting at login',
  theme: 'Theme',
};

/** Under a setting the department locked. */
export const LOCKED_TEXT = 'Set by your department';

/** Under a setting whose value the department chose (the user may still change it). */
export const DEPARTMENT_DEFAULT_TEXT = "Your department's choice; you may change it.";

function isSettingsError(e: unknown): e is SettingsErrorView {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e;
}

/** Why a setting was not changed, for the pane's status line. */
export function settingsErrorText(key: PaneKey, e: unknown): string {
  const name = SETTING_NAMES[key];
  if (!isSettingsError(e)) return `${name} was not changed: ${errorText(e)}`;
  if (e.kind === 'locked') return `${name} is set by your department and cannot be changed here.`;
  return `${name} was not changed: ${e.message}.`;
}
