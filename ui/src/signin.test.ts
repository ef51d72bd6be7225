import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App, boot } from './app';
import type { ProbeReport, ProfileInfo } from './generated/types';
import { server, snapshot } from './test/fixtures';
import { fakeBackend, type FakeBackend, loadPage } from './test/page';

const $ = <T extends HTMLElement = HTMLElement>(testid: string) =>
  document.querySelector<T>(`[data-testid="${testid}"]`)!;
const flush = () => new Promise((r) => setTimeout(r, 40));

const open: ProfileInfo = {
  name: 'service-calls',
  description: 'Node socket.io service calls',
  builtin: true,
  managed: false,
  default_server: null,
  variables: [],
  login: true,
  sign_in_optional: true,
};
const closed: ProfileInfo = { ...open, name: 'station-reports', sign_in_optional: false };

const report: ProbeReport = {
  server: 'http://127.0.0.1:9',
  profile: 'service-calls',
  connection: {
    protocol: 'socketio',
    path: '/socket.io/',
    connected: true,
    auth_needed: false,
    token_accepted: null,
    attempts: ['socketio /socket.io/: connected without a token'],
  },
  api_base: { base: '/v2', profile_default: '/api', answered: true },
  events: [],
  lists: [
    {
      list: 'GET /v2/calls',
      ok: false,
      status: 'HTTP 200',
      shape: 'an object with fields: error',
      items: '',
      found_at: null,
      records: 0,
      cursor: 'updatedAt',
      cursor_found: null,
      error: 'the answer is an object with no list in it (fields: error)',
      fields: [],
    },
  ],
  advice: ['the REST API is at /v2, not /api'],
};

describe('the sign-in form', () => {
  let backend: FakeBackend;
  let app: App;

  beforeEach(async () => {
    loadPage();
    backend = fakeBackend({
      profiles: () => Promise.resolve([open, closed]),
      signIn: (form) => {
        backend.calls.push(['signIn', [form]]);
        return Promise.resolve(server());
      },
      testConnection: (form) => {
        backend.calls.push(['testConnection', [form]]);
        return Promise.resolve(report);
      },
    });
    app = await boot(document, backend);
    backend.emit(snapshot({ servers: [] }));
    await flush();
  });
  afterEach(() => app.dispose());

  const choose = async (name: string) => {
    const select = $<HTMLSelectElement>('sign-in-profile');
    select.value = name;
    select.dispatchEvent(new Event('change'));
    await flush();
  };

  it('lets a server whose socket is open be added without an account', async () => {
    await choose('service-calls');
    expect($('sign-in-skip-label').hidden).toBe(false);
    $<HTMLInputElement>('sign-in-server').value = 'http://127.0.0.1:9';
    $<HTMLInputElement>('sign-in-skip').checked = true;
    $('sign-in-skip').dispatchEvent(new Event('change'));
    expect($('sign-in-credentials').hidden).toBe(true);
    $('sign-in-submit').click();
    await flush();
    const signIn = backend.calls.find(([c]) => c === 'signIn');
    expect(signIn?.[1][0]).toMatchObject({ profile: 'service-calls', username: '', password: '' });
  });

  it('asks for an account where the server needs one', async () => {
    await choose('station-reports');
    expect($('sign-in-skip-label').hidden).toBe(true);
    $<HTMLInputElement>('sign-in-server').value = 'http://127.0.0.1:9';
    $('sign-in-submit').click();
    await flush();
    expect($('sign-in-error').textContent).toBe('Enter your username and password.');
    expect(backend.calls.some(([c]) => c === 'signIn')).toBe(false);
  });

  it('tests the connection without an account and shows what it found', async () => {
    await choose('station-reports');
    $<HTMLInputElement>('sign-in-server').value = 'http://127.0.0.1:9';
    $('test-connection').click();
    await flush();
    const call = backend.calls.find(([c]) => c === 'testConnection');
    expect(call?.[1][0]).toMatchObject({ profile: 'station-reports', server: 'http://127.0.0.1:9', username: '' });
    const text = $('sign-in-test').textContent ?? '';
    expect(text).toContain('Connected over socketio at /socket.io/.');
    expect(text).toContain('Its REST API is at /v2.');
    expect(text).toContain('GET /v2/calls: the answer is an object with no list in it');
    expect(text).toContain('No events arrived');
    expect(backend.calls.some(([c]) => c === 'signIn')).toBe(false);
  });

  it('sends the certificate authority file with the form, and only as a full path', async () => {
    await choose('station-reports');
    $<HTMLInputElement>('sign-in-server').value = 'https://alerts.department.example';
    $<HTMLInputElement>('sign-in-username').value = 'officer';
    $<HTMLInputElement>('sign-in-password').value = 'pw';
    $<HTMLInputElement>('sign-in-ca-file').value = 'department.crt';
    $('sign-in-submit').click();
    await flush();
    expect($('sign-in-error').textContent).toBe('Give the certificate authority file as a full path, starting with /.');
    expect(backend.calls.some(([c]) => c === 'signIn')).toBe(false);

    $<HTMLInputElement>('sign-in-ca-file').value = '  /usr/local/share/ca-certificates/department.crt ';
    $<HTMLInputElement>('sign-in-password').value = 'pw';
    $('sign-in-submit').click();
    await flush();
    const signIn = backend.calls.find(([c]) => c === 'signIn');
    expect(signIn?.[1][0]).toMatchObject({
      server: 'https://alerts.department.example',
      ca_file: '/usr/local/share/ca-certificates/department.crt',
    });
  });

  it('leaves the certificate authority file out when the field is empty', async () => {
    await choose('station-reports');
    $<HTMLInputElement>('sign-in-server').value = 'http://127.0.0.1:9';
    $('test-connection').click();
    await flush();
    const call = backend.calls.find(([c]) => c === 'testConnection');
    expect(call?.[1][0]).toMatchObject({ ca_file: null });
  });
});

