// The few thin commands the UI calls (src-tauri/src/commands.rs), and the one event stream it listens to.

import { Channel, invoke } from '@tauri-apps/api/core';
import type {
  AlertDetail,
  DeskEvent,
  NotificationsRequest,
  ProfileInfo,
  ServerView,
  SignInForm,
} from './generated/types';

/** Mirrors `commands::AppInfo` in src-tauri/src/commands.rs. */
export interface AppInfo {
  name: string;
  version: string;
  settingsError: string | null;
  /** `[window] theme` */
  theme: 'system' | 'light' | 'dark';
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  subscribe(onEvent: (event: DeskEvent) => void): Promise<void>;
  profiles(): Promise<ProfileInfo[]>;
  importProfile(fileName: string, text: string): Promise<ProfileInfo>;
  signIn(form: SignInForm): Promise<ServerView>;
  signOut(id: string): Promise<void>;
  tryDemo(): Promise<ServerView>;
  detail(server: string, id: string): Promise<AlertDetail>;
  markRead(server: string, id: string): Promise<void>;
  markAllRead(): Promise<number>;
  clearRead(): Promise<number>;
  acknowledge(server: string, id: string): Promise<void>;
  setNotifications(request: NotificationsRequest): Promise<void>;
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
  signOut: (id) => invoke('sign_out', { id }),
  tryDemo: () => invoke('try_demo'),
  detail: (server, id) => invoke('alert_detail', { server, id }),
  markRead: (server, id) => invoke('mark_read', { server, id }),
  markAllRead: () => invoke('mark_all_read'),
  clearRead: () => invoke('clear_read'),
  acknowledge: (server, id) => invoke('acknowledge', { server, id }),
  setNotifications: (request) => invoke('set_notifications', { request }),
};
