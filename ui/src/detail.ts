// The detail pane of one alert: what it says, its times (server, received, shown, read, acknowledged), the trail
// of earlier versions and the payload. Server text is set with textContent only.

import { time } from './format';
import type { AlertDetail } from './generated/types';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export interface DetailActions {
  acknowledge(): void;
  close(): void;
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
  if (a.assigned_to_me) tags.append(el('span', 'Assigned to you', 'mine'));

  const body = el('p', a.body, 'body');
  body.setAttribute('data-testid', 'detail-body');

  const ack = el('button', a.acknowledged_at ? 'Acknowledged' : 'Acknowledge', 'primary');
  ack.type = 'button';
  ack.setAttribute('data-testid', 'acknowledge');
  ack.disabled = a.acknowledged_at !== null;
  ack.title = d.writes_back ? 'Acknowledge here and on the server (a)' : 'Acknowledge here (a); this server is not told';
  ack.addEventListener('click', actions.acknowledge);

  const times = el('dl', undefined, 'times');
  times.setAttribute('data-testid', 'detail-times');
  const rows: Array<[string, string | null]> = [
    ['Server time', a.server_time],
    ['Received', a.first_received_at],
    ['Last update', a.update_count > 0 ? a.received_at : null],
    ['Notified', d.shown_at],
    ['Read', a.read_at],
    ['Acknowledged', a.acknowledged_at],
  ];
  for (const [label, value] of rows) times.append(el('dt', label), el('dd', time(value)));
  times.append(el('dt', 'Arrived by'), el('dd', d.source), el('dt', 'Event'), el('dd', d.event), el('dt', 'Id'), el('dd', a.id));

  pane.append(head, tags, body, ack, el('h3', 'Times'), times);

  if (d.trail.length > 0) {
    const trail = el('ol', undefined, 'trail');
    trail.setAttribute('data-testid', 'detail-trail');
    for (const t of d.trail) {
      const li = el('li');
      li.append(
        el('span', `${time(t.received_at)} → ${time(t.replaced_at)}`, 'when'),
        el('span', ` ${t.priority} ${t.kind}: `, 'what'),
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
