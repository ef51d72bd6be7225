// The few thin commands the UI calls (src-tauri/src/commands.rs), and the one event stream it listens to.

import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type {
  AlertDetail,
  DeskEvent,
  ListRequest,
  ListWindow,
  NotificationsRequest,
  ProbeReport,
  ProfileInfo,
  ServerView,
  SignInForm,
} from './generated/types';
import type { PaneChange, SettingsPane } from './generated/settings';
import type { UpdateProgress, UpdateStatus } from './generated/updates';

/** Mirrors `commands::AppInfo` in src-tauri/src/commands.rs. */
export interface AppInfo {
  name: string;
  version: string;
  /** The settings left out (not valid), one line each. */
  settingsProblems: string[];
  /** `[window] theme` */
  theme: 'system' | 'light' | 'dark';
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  subscribe(onEvent: (event: DeskEvent) => void): Promise<void>;
  profiles(): Promise<ProfileInfo[]>;
  importProfile(fileName: string, text: string): Promise<ProfileInfo>;
  signIn(form: SignInForm): Promise<ServerView>;
  /** "Test connection": the form's server probed against its profile for a few seconds; nothing is kept. */
  testConnection(form: SignInForm): Promise<ProbeReport>;
  signOut(server: string): Promise<void>;
  tryDemo(): Promise<ServerView>;
  detail(server: string, id: string): Promise<AlertDetail>;
  /** A window of the list's rows (the Rust side holds the list; batches push the window again as it changes). */
  listWindow(request: ListRequest): Promise<ListWindow>;
  markRead(server: string, id: string): Promise<void>;
  markAllRead(): Promise<number>;
  clearRead(): Promise<number>;
  acknowledge(server: string, id: string): Promise<void>;
  /** A status response the alert's profile declares (`en_route`): acknowledged here, sent to the server. */
  respond(server: string, id: string, response: string): Promise<void>;
  setNotifications(request: NotificationsRequest): Promise<void>;
  updateStatus(): Promise<UpdateStatus>;
  updateCheck(): Promise<UpdateStatus>;
  /** Resolves never on success (the app restarts); rejects with an UpdateError. */
  updateInstall(onProgress: (p: UpdateProgress) => void): Promise<void>;
  updateCancel(): Promise<boolean>;
  /** The result of every update check (at start, periodic, the tray's "Check for updates"). */
  onUpdateStatus(listener: (s: UpdateStatus) => void): Promise<void>;
  /** The settings pane's settings in effect (read from the files now). */
  settings(): Promise<SettingsPane>;
  /** Changes one setting, applied at once; rejects with a SettingsErrorView (locked, invalid, ...). */
  setSetting(change: PaneChange): Promise<SettingsPane>;
  /** The settings after a settings file changed outside the window (applied already). */
  onSettingsChanged(listener: (s: SettingsPane) => void): Promise<void>;
}

/** The real backend: Tauri's IPC. */
export const tauriBackend: Backend = {
  appInfo: () => invoke('app_info'),
  subscribe: (onEvent) => {
    const channel = new Channel<DeskEvent>();
    channel.onmessage = onEvent;
    return invoke('subscribe', { onEvent: channel });
  },
  profiles: () => invoke('profiles'),
  importProfile: (fileName, text) => invoke('import_profile', { fileName, text }),
  signIn: (form) => invoke('sign_in', { form }),
  testConnection: (form) => invoke('test_connection', { form }),
  signOut: (server) => invoke('sign_out', { server }),
  tryDemo: () => invoke('try_demo'),
  detail: (server, id) => invoke('alert_detail', { server, id }),
  listWindow: (request) => invoke('list_window', { request }),
  markRead: (server, id) => invoke('mark_read', { server, id }),
  markAllRead: () => invoke('mark_all_read'),
  clearRead: () => invoke('clear_read'),
  acknowledge: (server, id) => invoke('acknowledge', { server, id }),
  respond: (server, id, response) => invoke('respond', { server, id, response }),
  setNotifications: (request) => invoke('set_notifications', { request }),
  updateStatus: () => invoke('update_status'),
  updateCheck: () => invoke('update_check'),
  updateInstall: (onProgress) => {
    const channel = new Channel<UpdateProgress>();
    channel.onmessage = onProgress;
    return invoke('update_install', { onProgress: channel });
  },
  updateCancel: () => invoke('update_cancel'),
  onUpdateStatus: async (listener) => {
    await listen<UpdateStatus>('update-status', (event) => listener(event.payload));
  },
  settings: () => invoke('settings'),
  setSetting: (change) => invoke('set_setting', { change }),
  onSettingsChanged: async (listener) => {
    await listen<SettingsPane>('settings-changed', (event) => listener(event.payload));
  },
};
