// Words and times for display. Pure functions, unit-tested.

import type { LinkState, NotificationsView, ServerView } from './generated/types';

/** `14:02:11` today, `Nov 23 14:02` on another day; the raw text when it is not a time. */
export function time(rfc3339: string | null, now: Date = new Date()): string {
  if (!rfc3339) return '—';
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return rfc3339;
  const hms = t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  if (t.toDateString() === now.toDateString()) return hms;
  const day = t.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return `${day} ${hms.slice(0, 5)}`;
}

/** The time between two moments: `+850 ms`, `+1.2 s`, `+3 min 5 s`; `−0.3 s` when a clock was ahead. */
export function latency(ms: number): string {
  const sign = ms < 0 ? '−' : '+';
  const n = Math.abs(ms);
  if (n < 1000) return `${sign}${n} ms`;
  if (n < 60_000) return `${sign}${(n / 1000).toFixed(1)} s`;
  const minutes = Math.floor(n / 60_000);
  const seconds = Math.round((n % 60_000) / 1000);
  if (minutes < 60) return `${sign}${minutes} min ${seconds} s`;
  return `${sign}${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** `14:02` */
export function clock(rfc3339: string | null): string {
  if (!rfc3339) return '';
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return rfc3339;
  return t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
}

/** The link's state in a few words: "Live · 12 ms", "Reconnecting in 4 s · offline since 14:02". */
export function linkText(server: ServerView, nowMs: number = Date.now()): string {
  const link: LinkState = server.link;
  const offline = server.down_since ? ` · offline since ${clock(server.down_since)}` : '';
  switch (link.status) {
    case 'connecting':
      return `Connecting${offline}`;
    case 'live':
      return server.latency_ms === null ? 'Live' : `Live · ${server.latency_ms} ms`;
    case 'reconnecting': {
      const due = new Date(server.since).getTime() + link.retry_in_ms;
      const left = Math.max(0, Math.ceil((due - nowMs) / 1000));
      const next = left > 0 ? `Reconnecting in ${left} s` : 'Reconnecting now';
      return `${next}${offline}`;
    }
    case 'polling':
      return `Polling every ${link.every_s} s (live link down)`;
    case 'auth_failed':
      return 'Sign in again';
    case 'stopped':
      return 'Stopped';
  }
}

/** Why the link is down, for a tooltip or the banner. */
export function linkReason(link: LinkState): string {
  switch (link.status) {
    case 'reconnecting':
    case 'polling':
    case 'auth_failed':
      return link.reason;
    default:
      return '';
  }
}

/** The persistent notifications indicator; empty when everything notifies. */
export function notificationsText(n: NotificationsView): string {
  switch (n.mode) {
    case 'normal':
      return '';
    case 'quietHours':
      return `Quiet hours until ${n.until}: only critical alerts and assignments to you notify`;
    case 'paused':
      return n.until
        ? `Notifications paused until ${clock(n.until)}: only critical alerts and assignments to you notify`
        : 'Notifications paused until resumed: only critical alerts and assignments to you notify';
    case 'silenced':
      return 'Everything is silenced: no alert notifies, not even critical ones';
  }
}
