// The alert list, virtualized and paged: the Rust side holds the list (order, filters, counts) and sends the
// window in view; rows have one fixed height, and only those in view (plus a margin) are in the DOM. The list asks
// for a new window as it scrolls or filters; batches push the window again when it changes, so a new alert is
// drawn without a round trip. Server text is set with textContent only.

import { time } from './format';
import type { AlertRow, ListFilter, ListRequest, ListWindow } from './generated/types';
import { type Item, itemOf } from './model';

export const ROW_HEIGHT = 56;
/** Rows drawn beyond the view, above and below. */
const OVERSCAN = 10;
/** Rows held beyond the view, above and below: scrolling within them needs no request. */
const MARGIN = 20;

export interface RowContext {
  serverLabel(server: string): string;
}

export class VirtualList {
  /** The rows held: the window's, from index `offset`. */
  private held: Item[] = [];
  private offset = 0;
  private total = 0;
  private selected: string | null = null;
  private drawn = new Map<string, HTMLElement>();
  /** Alert rows out of view, hidden, kept to draw the next alerts in. */
  private spare: HTMLElement[] = [];
  private frame = 0;
  private filter: ListFilter = { server: null, kind: null, min_priority: null, unread_only: false, text: '' };
  /** The latest request's number, the offset its window is at, and whether it asked to keep a row in place. */
  private seq = 0;
  private base = 0;
  private anchored = false;
  /** The newest window drawn. */
  private revision = -1;
  private inFlight = false;
  private waiting: Array<() => void> = [];

  constructor(
    private readonly viewport: HTMLElement,
    private readonly spacer: HTMLElement,
    private readonly context: RowContext,
    private readonly onPick: (key: string) => void,
    private readonly fetch: (request: ListRequest) => Promise<ListWindow>,
    private readonly onWindow: (window: ListWindow) => void = () => {},
  ) {
    viewport.addEventListener('scroll', () => this.schedule());
    viewport.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>('[data-key]');
      if (row?.dataset.key) this.onPick(row.dataset.key);
    });
  }

  /** Rows in the list (under the filter), not only those held. */
  get length(): number {
    return this.total;
  }

  /** The keys of the rows held, in order. */
  keys(): string[] {
    return this.held.map((i) => i.key);
  }

  /** The index of a held row (-1 when it is not held). */
  indexOf(key: string | null): number {
    if (key === null) return -1;
    const at = this.held.findIndex((i) => i.key === key);
    return at < 0 ? -1 : this.offset + at;
  }

  itemAt(index: number): Item | undefined {
    return this.held[index - this.offset];
  }

  /** A held alert's row. */
  alert(key: string): AlertRow | undefined {
    const item = this.held.find((i) => i.key === key);
    return item?.type === 'alert' ? item.alert : undefined;
  }

  /** The index of the first row in view. */
  firstVisible(): number {
    return Math.floor(this.viewport.scrollTop / ROW_HEIGHT);
  }

  /** New filters: the list from its top. */
  setFilter(filter: ListFilter): void {
    this.filter = filter;
    this.viewport.scrollTop = 0;
    this.request();
  }

  /** Asks for the window in view (`around`: a window around that alert, scrolled to it). */
  request(around: { server: string; id: string } | null = null): Promise<void> {
    const height = this.viewport.clientHeight || 800;
    const top = this.firstVisible();
    const offset = Math.max(0, top - MARGIN);
    const request: ListRequest = {
      filter: this.filter,
      offset,
      limit: Math.ceil(height / ROW_HEIGHT) + MARGIN * 2,
      anchor: top,
      around,
      seq: ++this.seq,
    };
    this.base = offset;
    this.anchored = around === null && top > 0;
    this.inFlight = true;
    const done = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.fetch(request)
      .then((window) => this.apply(window))
      .catch(() => {
        // The window stays as it was; the next scroll or batch asks again.
      })
      .finally(() => {
        if (request.seq !== this.seq) return;
        this.inFlight = false;
        for (const resolve of this.waiting.splice(0)) resolve();
      });
    return done;
  }

  /** Draws a window: the answer to a request, or pushed with a batch. Stale ones are dropped; a pushed one names
   *  the window it was made from, whose rows it does not send again. */
  apply(window: ListWindow): void {
    if (window.seq !== this.seq || window.revision <= this.revision) return;
    const before = this.held;
    const items = window.items.map((x) => (typeof x === 'number' ? before[x] : itemOf(x)));
    if ((window.base !== null && window.base !== this.revision) || items.some((i) => i === undefined)) {
      // Made from a window not drawn here (an answer still on its way): ask for the whole window.
      if (!this.inFlight) void this.request();
      return;
    }
    this.revision = window.revision;
    // Rows arrived (or went) above the row at the top of the view: scroll by as much, so it stays in place.
    const shift = this.anchored ? window.offset - this.base : 0;
    this.base = window.offset;
    this.offset = window.offset;
    this.total = window.total;
    this.held = items as Item[];
    this.spacer.style.height = `${this.total * ROW_HEIGHT}px`;
    if (shift !== 0) this.viewport.scrollTop += shift * ROW_HEIGHT;
    if (window.found !== null) {
      this.scrollIntoView(window.found);
      // The Rust side keeps that row in place from now on.
      this.anchored = window.found > 0;
    }
    // Rows whose item is the one drawn already stay (only moved); the others are drawn again.
    const was = new Map(before.map((i) => [i.key, i]));
    const now = new Map(this.held.map((i) => [i.key, i]));
    for (const [key, row] of this.drawn) {
      if (now.get(key) !== was.get(key)) this.release(key, row);
    }
    this.draw();
    this.onWindow(window);
  }

  /** The row at `index`, asking for its window first when it is not held. */
  async ensure(index: number): Promise<Item | undefined> {
    if (!this.itemAt(index) && index >= 0 && index < this.total) {
      this.scrollIntoView(index); // asks for the window there
      if (this.inFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return this.itemAt(index);
  }

  /** Changes made here ahead of the Rust side's confirmation (opening a row marks it read at once). */
  patch(key: string, change: Partial<AlertRow>): void {
    const at = this.held.findIndex((i) => i.key === key);
    const item = this.held[at];
    if (item?.type !== 'alert') return;
    this.held[at] = { ...item, alert: { ...item.alert, ...change } };
    const row = this.drawn.get(key);
    if (row) this.release(key, row);
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
    const height = this.viewport.clientHeight || 800; // as draw() assumes while the window is hidden
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (top + ROW_HEIGHT > this.viewport.scrollTop + height) {
      this.viewport.scrollTop = top + ROW_HEIGHT - height;
    }
    this.draw();
  }

  /** Takes a row out of view: an alert row stays in the DOM, hidden, for the next alert; a gap row goes. */
  private release(key: string, row: HTMLElement): void {
    this.drawn.delete(key);
    if (row.dataset.testid === 'alert-row' && this.spare.length < OVERSCAN * 4) {
      row.hidden = true;
      row.classList.remove('selected');
      for (const name of ['id', 'data-key', 'data-testid', 'data-alert-id', 'aria-selected']) row.removeAttribute(name);
      this.spare.push(row);
    } else {
      row.remove();
    }
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Puts the rows in view into the DOM and takes the others out; asks for a window when they are not held. */
  private draw(): void {
    const height = this.viewport.clientHeight || 800;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.total, Math.ceil((this.viewport.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    const wanted = new Set<string>();
    for (let i = first; i < last; i++) {
      const item = this.itemAt(i);
      if (item) wanted.add(item.key);
    }
    for (const [key, row] of this.drawn) {
      if (!wanted.has(key)) this.release(key, row);
    }
    // Rows in the DOM in list order (what a screen reader reads), moving only those out of place.
    let prev: Node | null = this.spacer.parentNode === this.viewport ? this.spacer : null;
    for (let i = first; i < last; i++) {
      const item = this.itemAt(i);
      if (!item) continue;
      let row = this.drawn.get(item.key);
      if (!row) {
        const spare = item.type === 'alert' ? this.spare.pop() : undefined;
        if (spare && item.type === 'alert') {
          fillRow(spare, item, this.context);
          spare.hidden = false;
          row = spare;
        } else {
          row = renderRow(item, this.context);
        }
        this.drawn.set(item.key, row);
      }
      const next = prev ? prev.nextSibling : this.viewport.firstChild;
      if (next !== row) this.viewport.insertBefore(row, next);
      prev = row;
      row.id = rowId(i);
      row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      row.setAttribute('aria-posinset', String(i + 1));
      row.setAttribute('aria-setsize', String(this.total));
      const on = item.key === this.selected;
      row.classList.toggle('selected', on);
      row.setAttribute('aria-selected', String(on));
    }
    const covered = first >= this.offset && last <= this.offset + this.held.length;
    if (!covered && !this.inFlight && this.revision >= 0) void this.request();
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
  if (item.type === 'gap') {
    const gap = item.gap;
    row.dataset.key = item.key;
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
  row.setAttribute('data-testid', 'alert-row');
  const top = document.createElement('div');
  top.className = 'line1';
  top.append(span('prio', ''), span('kind', ''), span('title', ''));
  const bottom = document.createElement('div');
  bottom.className = 'line2';
  bottom.append(span('src', ''), span('time', ''), span('body', ''), span('flags', ''));
  row.append(top, bottom);
  fillRow(row, item, context);
  return row;
}

/** Writes an alert into an alert row: a new one, or one drawn before for another alert (rows are reused, so a
 *  busy list makes and drops few elements). */
export function fillRow(row: HTMLElement, item: Item & { type: 'alert' }, context: RowContext): void {
  const a = item.alert;
  const unread = a.read_at === null;
  row.dataset.key = item.key;
  row.setAttribute('data-testid', 'alert-row');
  row.className = `row p-${a.priority}${unread ? ' unread' : ''}${item.pinned ? ' pinned' : ''}`;
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
  const label = context.serverLabel(a.server);
  const texts: Array<[string, string]> = [
    ['prio', a.priority],
    ['kind', a.kind],
    ['title', a.title],
    ['src', label],
    ['time', time(a.first_received_at)],
    ['body', a.body],
    ['flags', flags.join(' · ')],
  ];
  for (const [name, text] of texts) {
    const el = row.querySelector<HTMLElement>(`.${name}`);
    if (el && el.textContent !== text) el.textContent = text;
  }
  row.setAttribute(
    'aria-label',
    `${unread ? 'Unread, ' : ''}${a.priority} ${a.kind}: ${a.title}. ${label}, ${time(a.first_received_at)}. ${flags.join(', ')}`,
  );
}
