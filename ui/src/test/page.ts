// The real index.html body in jsdom, with the <dialog> methods jsdom lacks, and a fake Backend that records calls.

import html from '../../index.html?raw';
import type { Backend } from '../backend';
import type { SettingsPane } from '../generated/settings';
import type { DeskEvent } from '../generated/types';
import { changed, settingsPane } from './fixtures';
import { FakeList, type TestEvent } from './fakelist';

export function loadPage(): Document {
  const body = /<body>([\s\S]*)<\/body>/.exec(html)?.[1] ?? '';
  document.body.innerHTML = body.replace(/<script[\s\S]*?<\/script>/g, '');
  const proto = HTMLDialogElement.prototype as HTMLDialogElement & { __patched?: boolean };
  if (!proto.__patched) {
    proto.showModal = function (this: HTMLDialogElement) {
      this.open = true;
    };
    proto.close = function (this: HTMLDialogElement, value?: string) {
      if (value !== undefined) this.returnValue = value;
      this.open = false;
      this.dispatchEvent(new Event('close'));
    };
    proto.__patched = true;
  }
  return document;
}

export interface FakeBackend extends Backend {
  calls: Array<[string, unknown[]]>;
  /** The Rust side's list, as the tests' events fill it. */
  list: FakeList;
  emit(event: TestEvent): void;
  /** A settings file changed outside the window. */
  settingsChanged(pane: SettingsPane): void;
}

export function fakeBackend(overrides: Partial<Backend> = {}, initial: SettingsPane = settingsPane()): FakeBackend {
  let listener: ((e: DeskEvent) => void) | null = null;
  let pane = initial;
  let settingsListener: ((p: SettingsPane) => void) | null = null;
  const list = new FakeList();
  const calls: Array<[string, unknown[]]> = [];
  const record =
    <T>(name: string, result: T) =>
    (...args: unknown[]) => {
      calls.push([name, args]);
      return Promise.resolve(result);
    };
  const base: Backend = {
    appInfo: record('appInfo', { name: 'Alertdesk', version: '9.9.9', settingsProblems: [], theme: 'system' }),
    subscribe: (onEvent) => {
      calls.push(['subscribe', []]);
      listener = onEvent;
      return Promise.resolve();
    },
    profiles: record('profiles', []),
    importProfile: record('importProfile', {
      name: '/x.toml',
      description: '',
      builtin: false,
      managed: false,
      default_server: null,
      variables: [],
      login: true,
      sign_in_optional: false,
    }),
    signIn: record('signIn', undefined as never),
    testConnection: record('testConnection', undefined as never),
    signOut: record('signOut', undefined),
    tryDemo: record('tryDemo', undefined as never),
    detail: record('detail', undefined as never),
    listWindow: (request) => Promise.resolve(list.window(request)),
    markRead: record('markRead', undefined),
    markAllRead: record('markAllRead', 0),
    clearRead: record('clearRead', 0),
    acknowledge: record('acknowledge', undefined),
    respond: record('respond', undefined),
    setNotifications: record('setNotifications', undefined),
    updateStatus: record('updateStatus', { type: 'notChecked' }),
    updateCheck: record('updateCheck', { type: 'notChecked' }),
    updateInstall: record('updateInstall', undefined),
    updateCancel: record('updateCancel', true),
    onUpdateStatus: record('onUpdateStatus', undefined),
    settings: (...args: unknown[]) => {
      calls.push(['settings', args]);
      return Promise.resolve(pane);
    },
    setSetting: (change) => {
      calls.push(['setSetting', [change]]);
      pane = changed(pane, change);
      return Promise.resolve(pane);
    },
    onSettingsChanged: (listener) => {
      calls.push(['onSettingsChanged', []]);
      settingsListener = listener;
      return Promise.resolve();
    },
  };
  return {
    ...base,
    ...overrides,
    calls,
    list,
    emit: (event) => listener?.(list.take(event)),
    settingsChanged: (p) => settingsListener?.(p),
  };
}
