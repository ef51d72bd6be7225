// The detail pane of one alert: what it says, its status, the responses its profile offers and where each one
// sent stands, its timeline (the server's time, received, notified, read, acknowledged, responded, confirmed,
// with the time between each), the trail of earlier versions and the payload. Server text is set with
// textContent only.

import { latency, time } from './format';
import type { AlertDetail, MomentKind, Response } from './generated/types';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export interface DetailActions {
  acknowledge(): void;
  /** A status response the profile declares (its name). */
  respond(name: string): void;
  close(): void;
}

const MOMENT: Record<MomentKind, string> = {
  server: 'Server time',
  first_received: 'First received',
  received: 'Received',
  notified: 'Notified',
  read: 'Read',
  acknowledged: 'Acknowledged',
  responded: 'Responded',
  confirmed: 'Server confirmed',
  failed: 'Server refused',
};

/** Where a response sent to the server stands, in words. */
export function responseText(r: Response): string {
  switch (r.state) {
    case 'confirmed':
      return `${r.label}: confirmed by the server at ${time(r.done_at)}`;
    case 'failed':
      return `${r.label}: refused by the server${r.error ? ` (${r.error})` : ''}`;
    case 'pending': {
      const tried = r.attempts === 0 ? 'sending' : `not through yet after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`;
      const why = r.error ? `: ${r.error}` : '';
      const next = r.attempts > 0 && r.next_at ? `; next try ${time(r.next_at)}` : '';
      return `${r.label}: ${tried}${why}${next}`;
    }
  }
}

export function renderDetail(pane: HTMLElement, d: AlertDetail, serverLabel: string, actions: DetailActions): void {
  const a = d.alert;
  pane.replaceChildren();
  pane.hidden = false;
  pane.dataset.alertId = a.id;

  const head = el('div', undefined, 'detail-head');
  const title = el('h2', a.title);
  title.id = 'detail-title';
  title.setAttribute('data-testid', 'detail-title');
  const close = el('button', '×', 'close');
  close.type = 'button';
  close.setAttribute('aria-label', 'Close details');
  close.addEventListener('click', actions.close);
  head.append(title, close);

  const tags = el('p', undefined, 'tags');
  tags.append(el('span', a.priority, `prio p-${a.priority}`), el('span', a.kind, 'kind'), el('span', serverLabel, 'server'));
  if (a.status) tags.append(el('span', a.status, 'status'));
  if (a.assigned_to_me) tags.append(el('span', 'Assigned to you', 'mine'));

  const body = el('p', a.body, 'body');
  body.setAttribute('data-testid', 'detail-body');

  const ack = el('button', a.acknowledged_at ? 'Acknowledged' : 'Acknowledge', 'primary');
  ack.type = 'button';
  ack.setAttribute('data-testid', 'acknowledge');
  ack.disabled = a.acknowledged_at !== null;
  ack.title = d.writes_back ? 'Acknowledge here and on the server (a)' : 'Acknowledge here (a); this server is not told';
  ack.addEventListener('click', actions.acknowledge);

  const buttons = el('div', undefined, 'responses');
  buttons.append(ack);
  for (const choice of d.responses) {
    const button = el('button', choice.label);
    button.type = 'button';
    button.setAttribute('data-testid', `respond-${choice.name}`);
    button.title = `Tell the server: ${choice.label} (also acknowledges)`;
    button.addEventListener('click', () => actions.respond(choice.name));
    buttons.append(button);
  }

  const times = el('dl', undefined, 'times');
  times.setAttribute('data-testid', 'detail-times');
  for (const m of d.timeline) {
    const what = m.label ? `${MOMENT[m.what]}: ${m.label}` : MOMENT[m.what];
    const after = m.after_ms === null ? '' : ` (${latency(m.after_ms)})`;
    times.append(el('dt', what), el('dd', `${time(m.at)}${after}`));
  }
  times.append(el('dt', 'Arrived by'), el('dd', d.source), el('dt', 'Event'), el('dd', d.event), el('dt', 'Id'), el('dd', a.id));

  pane.append(head, tags, body, buttons);
  if (a.responses.length > 0) {
    const sent = el('ul', undefined, 'sent');
    sent.setAttribute('data-testid', 'detail-responses');
    for (const r of a.responses) {
      const li = el('li', responseText(r), `response ${r.state}`);
      li.dataset.state = r.state;
      sent.append(li);
    }
    pane.append(el('h3', 'Sent to the server'), sent);
  }
  pane.append(el('h3', 'Times'), times);

  if (d.trail.length > 0) {
    const trail = el('ol', undefined, 'trail');
    trail.setAttribute('data-testid', 'detail-trail');
    for (const t of d.trail) {
      const li = el('li');
      li.append(
        el('span', `${time(t.received_at)} → ${time(t.replaced_at)}`, 'when'),
        el('span', ` ${t.priority} ${t.kind}${t.status ? ` (${t.status})` : ''}: `, 'what'),
        el('span', t.title, 'title'),
      );
      if (t.body) li.append(el('span', ` — ${t.body}`, 'body'));
      trail.append(li);
    }
    pane.append(el('h3', `Earlier versions (${d.trail.length})`), trail);
  }

  const payload = el('pre', d.payload, 'payload');
  payload.setAttribute('data-testid', 'detail-payload');
  const details = el('details');
  details.append(el('summary', 'What the server sent'), payload);
  pane.append(details);
  pane.setAttribute('aria-labelledby', 'detail-title');
}
