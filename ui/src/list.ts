// The alert list, virtualized: rows have one fixed height and only those in view (plus a margin) are in the
// DOM, so 10,000 alerts scroll as smoothly as 10. Server text is set with textContent only.

import { time } from './format';
import type { Item } from './model';

export const ROW_HEIGHT = 56;
const OVERSCAN = 10;

export interface RowContext {
  serverLabel(server: string): string;
}

export class VirtualList {
  private items: Item[] = [];
  private selected: string | null = null;
  private drawn = new Map<string, HTMLElement>();
  private frame = 0;

  constructor(
    private readonly viewport: HTMLElement,
    private readonly spacer: HTMLElement,
    private readonly context: RowContext,
    private readonly onPick: (key: string) => void,
  ) {
    viewport.addEventListener('scroll', () => this.schedule());
    viewport.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>('[data-key]');
      if (row?.dataset.key) this.onPick(row.dataset.key);
    });
  }

  get length(): number {
    return this.items.length;
  }

  keys(): string[] {
    return this.items.map((i) => i.key);
  }

  indexOf(key: string | null): number {
    return key === null ? -1 : this.items.findIndex((i) => i.key === key);
  }

  itemAt(index: number): Item | undefined {
    return this.items[index];
  }

  setItems(items: Item[], selected: string | null): void {
    this.items = items;
    this.selected = selected;
    this.spacer.style.height = `${items.length * ROW_HEIGHT}px`;
    // Every row may have changed (read state, titles): draw them again.
    for (const row of this.drawn.values()) row.remove();
    this.drawn.clear();
    this.draw();
  }

  select(key: string | null): void {
    this.selected = key;
    for (const [k, row] of this.drawn) {
      const on = k === key;
      row.classList.toggle('selected', on);
      row.setAttribute('aria-selected', String(on));
    }
    const index = this.indexOf(key);
    if (index >= 0) {
      this.scrollIntoView(index);
      this.viewport.setAttribute('aria-activedescendant', rowId(index));
    } else {
      this.viewport.removeAttribute('aria-activedescendant');
    }
  }

  private scrollIntoView(index: number): void {
    const top = index * ROW_HEIGHT;
    const height = this.viewport.clientHeight;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (height > 0 && top + ROW_HEIGHT > this.viewport.scrollTop + height) {
      this.viewport.scrollTop = top + ROW_HEIGHT - height;
    }
    this.draw();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Puts the rows in view into the DOM and takes the others out. */
  private draw(): void {
    const height = this.viewport.clientHeight || 800;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.items.length, Math.ceil((this.viewport.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    const wanted = new Set<string>();
    for (let i = first; i < last; i++) wanted.add(this.items[i].key);
    for (const [key, row] of this.drawn) {
      if (!wanted.has(key)) {
        row.remove();
        this.drawn.delete(key);
      }
    }
    for (let i = first; i < last; i++) {
      const item = this.items[i];
      let row = this.drawn.get(item.key);
      if (!row) {
        row = renderRow(item, this.context);
        this.drawn.set(item.key, row);
        this.viewport.appendChild(row);
      }
      row.id = rowId(i);
      row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      row.setAttribute('aria-posinset', String(i + 1));
      row.setAttribute('aria-setsize', String(this.items.length));
      const on = item.key === this.selected;
      row.classList.toggle('selected', on);
      row.setAttribute('aria-selected', String(on));
    }
  }
}

function rowId(index: number): string {
  return `row-${index}`;
}

function span(className: string, text: string): HTMLSpanElement {
  const el = document.createElement('span');
  el.className = className;
  el.textContent = text;
  return el;
}

export function renderRow(item: Item, context: RowContext): HTMLElement {
  const row = document.createElement('div');
  row.setAttribute('role', 'option');
  row.dataset.key = item.key;
  if (item.type === 'gap') {
    const gap = item.gap;
    row.className = 'row gap';
    row.setAttribute('data-testid', 'gap-row');
    const range = `${time(gap.from)} – ${gap.to ? time(gap.to) : 'now'}`;
    row.append(
      span('gap-icon', '⚠'),
      span('title', `Offline ${range} on ${context.serverLabel(gap.server)}: alerts from then may be missing`),
    );
    row.setAttribute('aria-label', `Connection gap ${range}`);
    return row;
  }
  const a = item.alert;
  const unread = a.read_at === null;
  row.className = `row p-${a.priority}${unread ? ' unread' : ''}${item.pinned ? ' pinned' : ''}`;
  row.setAttribute('data-testid', 'alert-row');
  row.dataset.alertId = a.id;
  row.dataset.server = a.server;
  row.dataset.unread = String(unread);
  row.dataset.priority = a.priority;
  row.dataset.kind = a.kind;
  const flags: string[] = [];
  if (a.status) flags.push(a.status);
  if (a.assigned_to_me) flags.push('Assigned to you');
  if (a.acknowledged_at) flags.push('✓ Acknowledged');
  if (a.responses.some((r) => r.state === 'pending')) flags.push('Sending…');
  if (a.responses.some((r) => r.state === 'failed')) flags.push('Response refused');
  if (a.update_count > 0) flags.push(`Updated ×${a.update_count}`);
  const top = document.createElement('div');
  top.className = 'line1';
  top.append(span('prio', a.priority), span('kind', a.kind), span('title', a.title));
  const bottom = document.createElement('div');
  bottom.className = 'line2';
  bottom.append(
    span('src', context.serverLabel(a.server)),
    span('time', time(a.first_received_at)),
    span('body', a.body),
    span('flags', flags.join(' · ')),
  );
  row.append(top, bottom);
  row.setAttribute(
    'aria-label',
    `${unread ? 'Unread, ' : ''}${a.priority} ${a.kind}: ${a.title}. ${context.serverLabel(a.server)}, ${time(a.first_received_at)}. ${flags.join(', ')}`,
  );
  return row;
}
