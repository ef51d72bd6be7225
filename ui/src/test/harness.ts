// The UI with a mocked Rust side, for the browser tests (tests/browser.test.mjs): Tauri's own IPC mock stands in
// for the commands, and `window.harness` lets a test push events and read what the UI called.

import { mockIPC } from '@tauri-apps/api/mocks';
import type { Channel } from '@tauri-apps/api/core';
import { boot } from '../app';
import { tauriBackend } from '../backend';
import type { PaneChange, SettingsPane } from '../generated/settings';
import type { DeskEvent, ListRequest, ProfileInfo } from '../generated/types';
import { FakeList, type TestEvent } from './fakelist';
import '../styles.css';

interface Harness {
  calls: Array<[string, unknown]>;
  /** A snapshot or batch with the rows the Rust side would hold: the fake list keeps them and answers
   *  `list_window` from them. */
  emit(event: TestEvent): void;
  /** The windows the UI asked for. */
  requests: ListRequest[];
  /** The answer `sign_in` gives next: a server view, or an error as Tauri delivers it (`ErrorView`). */
  signInAnswer: unknown;
  /** The settings pane's settings (`set_setting` changes them unless the key is locked). */
  settings: SettingsPane;
  ready: boolean;
}

const profiles: ProfileInfo[] = [
  {
    name: 'station-reports',
    description: 'Node ws per police station',
    builtin: true,
    managed: false,
    default_server: null,
    variables: [{ name: 'station_id', description: 'Your station', default: null, required: true }],
    login: true,
    sign_in_optional: false,
  },
];

let channel: Channel<DeskEvent> | null = null;
const list = new FakeList();
const harness: Harness = {
  calls: [],
  emit: (event) => channel?.onmessage(list.take(event)),
  requests: list.requests,
  signInAnswer: { kind: 'credentials', message: 'http://127.0.0.1:9 rejected the username or password (HTTP 401)' },
  settings: {
    on_duty: true,
    quiet_hours: { from: '22:00', to: '06:00' },
    volume: 80,
    speak_critical: false,
    autostart: false,
    theme: 'system',
    locked: ['quiet_hours'],
    from_department: [],
    problems: [],
  },
  ready: false,
};
(window as unknown as { harness: Harness }).harness = harness;

mockIPC((cmd, args) => {
  const a = (args ?? {}) as Record<string, unknown>;
  harness.calls.push([cmd, cmd === 'subscribe' ? {} : a]);
  switch (cmd) {
    case 'app_info':
      return { name: 'Alertdesk', version: '0.0.0-harness', settingsProblems: [], theme: 'system' };
    case 'subscribe':
      channel = a.onEvent as Channel<DeskEvent>;
      harness.ready = true;
      return null;
    case 'profiles':
      return profiles;
    case 'sign_in':
      if (typeof harness.signInAnswer === 'object' && harness.signInAnswer !== null && 'kind' in harness.signInAnswer)
        throw harness.signInAnswer;
      return harness.signInAnswer;
    case 'mark_all_read':
    case 'clear_read':
      return 0;
    case 'list_window':
      return list.window(a.request as ListRequest);
    case 'alert_detail':
      throw 'no such alert in the harness';
    case 'update_status':
      return { type: 'notChecked' };
    case 'settings':
      return harness.settings;
    case 'set_setting': {
      const change = a.change as PaneChange;
      if (harness.settings.locked.includes(change.key)) {
        throw { kind: 'locked', message: `${change.key} is set by your department` };
      }
      harness.settings = { ...harness.settings, [change.key]: change.value };
      return harness.settings;
    }
    default:
      return null;
  }
});

void boot(document, tauriBackend);
