import { beforeEach, describe, expect, it } from 'vitest';
import type { ListWindow } from './generated/types';
import { ROW_HEIGHT, VirtualList } from './list';
import { keyOf } from './model';
import { alert, batch, snapshot } from './test/fixtures';
import { FakeList } from './test/fakelist';

const frame = () => new Promise((r) => setTimeout(r, 40));

describe('the virtual list', () => {
  let viewport: HTMLElement;
  let fake: FakeList;
  let list: VirtualList;
  let windows: ListWindow[];
  let picked: string[];

  const rowIds = () =>
    [...viewport.querySelectorAll<HTMLElement>('[data-testid="alert-row"]')]
      .sort((a, b) => Number(/\d+/.exec(a.style.transform)![0]) - Number(/\d+/.exec(b.style.transform)![0]))
      .map((r) => r.dataset.alertId);

  /** Pushes a batch through the fake Rust side, as the engine does, and draws the window it carries. */
  const push = (fresh: ReturnType<typeof alert>[]) => {
    const event = fake.take(batch({ alerts: fresh }));
    if (event.type === 'batch' && event.list) list.apply(event.list);
  };

  beforeEach(async () => {
    document.body.innerHTML = '<div class="viewport" tabindex="0"><div class="spacer-rows"></div></div>';
    viewport = document.querySelector<HTMLElement>('.viewport')!;
    Object.defineProperty(viewport, 'clientHeight', { configurable: true, value: 560 }); // ten rows in view
    fake = new FakeList();
    fake.take(snapshot({ alerts: Array.from({ length: 10_000 }, (_, i) => alert(`m${i}`)) }));
    windows = [];
    picked = [];
    list = new VirtualList(
      viewport,
      viewport.querySelector<HTMLElement>('.spacer-rows')!,
      { serverLabel: () => 'Station 4' },
      (key) => picked.push(key),
      (request) => Promise.resolve(fake.window(request)),
      (window) => windows.push(window),
    );
    await list.request();
  });

  it('holds and draws only the window in view, with the whole list scroll height', () => {
    expect(list.length).toBe(10_000);
    const asked = fake.requests[0];
    expect([asked.offset, asked.anchor]).toEqual([0, 0]);
    expect(list.keys().length).toBe(asked.limit);
    expect(asked.limit).toBeLessThan(100);
    expect(rowIds().length).toBe(20); // ten in view and ten below
    expect(rowIds()[0]).toBe('m9999');
    expect(viewport.querySelector<HTMLElement>('.spacer-rows')!.style.height).toBe(`${10_000 * ROW_HEIGHT}px`);
  });

  it('asks for the rows in view as it scrolls, and draws them there', async () => {
    viewport.scrollTop = 5_000 * ROW_HEIGHT;
    viewport.dispatchEvent(new Event('scroll'));
    await frame();
    const asked = fake.requests[fake.requests.length - 1];
    expect(asked.anchor).toBe(5_000);
    expect(asked.offset).toBeLessThan(5_000);
    expect(asked.offset + asked.limit).toBeGreaterThan(5_010);
    expect(rowIds()).toContain('m4999'); // index 5000, newest first
    expect(rowIds().length).toBeLessThanOrEqual(30);
    // Scrolling within the rows held asks for nothing.
    const count = fake.requests.length;
    viewport.scrollTop += 3 * ROW_HEIGHT;
    viewport.dispatchEvent(new Event('scroll'));
    await frame();
    expect(fake.requests.length).toBe(count);
  });

  it('draws a pushed alert at the top while the view follows the top', () => {
    push([alert('fresh')]);
    expect(list.length).toBe(10_001);
    expect(rowIds()[0]).toBe('fresh');
    expect(viewport.scrollTop).toBe(0);
    expect(windows[windows.length - 1].alerts).toBe(10_001);
  });

  it('draws only the new rows of a push and keeps the others (the push names them by index)', () => {
    const kept = viewport.querySelector('[data-alert-id="m9999"]');
    push([alert('fresh')]);
    const pushed = windows[windows.length - 1];
    expect(pushed.base).not.toBeNull();
    expect(pushed.items.filter((i) => typeof i !== 'number')).toHaveLength(1);
    expect(viewport.querySelector('[data-alert-id="m9999"]')).toBe(kept);
    expect(rowIds().slice(0, 2)).toEqual(['fresh', 'm9999']);
  });

  it('asks for the whole window when a push was made from one it does not hold', async () => {
    const count = fake.requests.length;
    const drawn = windows[windows.length - 1];
    list.apply({ ...drawn, revision: drawn.revision + 5, base: drawn.revision + 4, items: [0, 1] });
    await frame();
    expect(fake.requests.length).toBe(count + 1);
    expect(list.keys().length).toBe(fake.requests[count].limit);
  });

  it('keeps the rows in view in place when alerts arrive above them, and the selection with them', async () => {
    viewport.scrollTop = 100 * ROW_HEIGHT;
    viewport.dispatchEvent(new Event('scroll'));
    await frame();
    const atTop = list.itemAt(100)!.key;
    list.select(atTop);
    push([alert('n1'), alert('n2'), alert('n3')]);
    expect(viewport.scrollTop).toBe(103 * ROW_HEIGHT);
    expect(list.itemAt(103)!.key).toBe(atTop);
    expect(list.indexOf(atTop)).toBe(103);
    const selected = viewport.querySelector<HTMLElement>('.row.selected')!;
    expect(selected.dataset.key).toBe(atTop);
    expect(selected.style.transform).toBe(`translateY(${103 * ROW_HEIGHT}px)`);
  });

  it('drops a window older than the one drawn, or for an earlier request', async () => {
    const drawn = windows[windows.length - 1];
    list.apply({ ...drawn, revision: drawn.revision - 1, items: [] });
    expect(list.keys().length).toBe(drawn.items.length);
    const seq = drawn.seq;
    await list.request();
    list.apply({ ...drawn, seq, revision: drawn.revision + 100, items: [] });
    expect(list.keys().length).toBeGreaterThan(0);
  });

  it('finds an alert that is not held, scrolls to it and says where it is', async () => {
    const server = 'http://127.0.0.1:8080';
    await list.request({ server, id: 'm10' });
    const index = list.indexOf(keyOf({ server, id: 'm10' }));
    expect(index).toBe(9_989);
    expect(viewport.scrollTop).toBeGreaterThan(9_000 * ROW_HEIGHT);
    expect(rowIds()).toContain('m10');
  });

  it('picks a row on click', () => {
    viewport.querySelector<HTMLElement>('[data-alert-id="m9998"] .title')!.click();
    expect(picked).toEqual([keyOf({ server: 'http://127.0.0.1:8080', id: 'm9998' })]);
  });
});
