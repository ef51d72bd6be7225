//! The window's list, held here and not in the web view: the view asks for a window of rows ([`ListRequest`]) as it
//! scrolls and filters, and each batch brings the window again when what it shows changed, so a new alert reaches
//! the screen without a round trip. The rows come from the history a page at a time ([`crate::store::list`]);
//! nothing here grows with the number of alerts but the few rows the history could not record (at most
//! [`UNRECORDED_LIMIT`], shown on top).
//!
//! # A stable window
//!
//! The request names the row at the top of the view (`anchor`). Unless that is the first row (the view follows the
//! top, where new alerts appear), the window keeps that row's [`Place`] and, as alerts arrive above it, moves down
//! with it: the pushed window's `offset` grows by as many rows as arrived above, and the view scrolls by as much,
//! so the rows the user reads stay where they are.
//!
//! # What a push carries
//!
//! Only the rows the view does not hold: the others go by their index in the window the push was made from
//! ([`WindowItem::Same`]), so a new alert at the top costs one row, not the window. While alerts pour in, the
//! window goes at most every [`BURST_EVERY`] (each push redraws the rows in view, and the web view keeps memory
//! for every redraw); a lone alert goes with the next batch.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use ts_rs::TS;

use super::actor::Actor;
use super::error::EngineError;
use super::view::{AlertRow, GapView};
use crate::domain::ServerId;
use crate::store::{ListFilter, ListPage, Listed, ListedAlert, Place, Selection, StoreError};

/// The most rows kept for alerts the history could not record (the oldest go first).
pub const UNRECORDED_LIMIT: usize = 500;

/// The most rows one window holds.
pub const WINDOW_LIMIT: u32 = 500;

/// While alerts pour in (a push brought more than [`BURST_ROWS`] new rows), the window is pushed at most this often
/// instead of with every batch: each push redraws the rows in view, and WebKit keeps memory for every redraw of a
/// busy list (docs/benchmarks.md). A lone alert still goes with the next batch.
pub const BURST_EVERY: Duration = Duration::from_millis(250);

/// New rows in one push that make it a burst.
pub const BURST_ROWS: usize = 3;

/// An alert's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AlertKey {
    /// Its server.
    pub server: ServerId,
    /// Its id.
    pub id: String,
}

/// UI -> Rust: the part of the list the window shows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct ListRequest {
    /// The filters.
    #[serde(default)]
    pub filter: ListFilter,
    /// The index of the first row wanted.
    pub offset: u32,
    /// How many rows (at most [`WINDOW_LIMIT`]).
    pub limit: u32,
    /// The index of the row at the top of the view: it stays in view as alerts arrive above it. 0: the view
    /// follows the top of the list.
    #[serde(default)]
    pub anchor: u32,
    /// Instead of `offset`: a window around this alert (`found` says where it is).
    #[serde(default)]
    pub around: Option<AlertKey>,
    /// The window's own request number, echoed in every window for it (newer requests have larger ones).
    pub seq: u32,
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ListItem {
    /// An alert.
    Alert {
        /// The alert.
        alert: AlertRow,
        /// An unacknowledged assignment to me, pinned on top.
        pinned: bool,
    },
    /// A time the link was down.
    Gap {
        /// The gap.
        gap: GapView,
    },
}

/// A row of a window as sent: the row itself, or where the view has it already.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(untagged)]
pub enum WindowItem {
    /// Unchanged: the row at this index of the window named by [`ListWindow::base`].
    Same(u32),
    /// The row.
    Row(Box<ListItem>),
}

/// Rust -> UI: a window of the list, in answer to a [`ListRequest`] or pushed with a batch when it changed.
///
/// A pushed window names the window it was made from (`base`) and sends only the rows that are not in it: as
/// alerts arrive at the top, each push carries the new rows, not the whole window again.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ListWindow {
    /// The request it answers.
    pub seq: u32,
    /// Grows with every window sent: one older than a window already drawn is stale.
    #[ts(type = "number")]
    pub revision: u64,
    /// The index of the first item (the view scrolls by as much as this moved since the last window).
    pub offset: u32,
    /// Rows under the filter (alerts and gaps).
    pub total: u32,
    /// Alerts under the filter.
    pub alerts: u32,
    /// Alerts in all.
    pub all: u32,
    /// The rows from `offset` on.
    pub items: Vec<WindowItem>,
    /// The revision of the window that `Same` rows refer to (`null`: every row is sent). A view that does not
    /// hold that window asks for a fresh one.
    #[ts(type = "number | null")]
    pub base: Option<u64>,
    /// The index of the request's `around` alert, when the filter lists it.
    pub found: Option<u32>,
}

/// What the actor keeps of the window: the latest request and where its anchor row is.
#[derive(Debug, Default)]
pub(super) struct ListState {
    request: Option<ListRequest>,
    /// The anchor row's place (`None`: the view follows the top).
    anchor: Option<Place>,
    /// How many rows of the window come before the anchor.
    lead: u32,
    /// The last window sent, to send none when nothing in it changed, and the rows of the next against it.
    last: Option<Sent>,
    revision: u64,
    /// Rows of alerts the history could not record, newest first.
    unrecorded: VecDeque<AlertRow>,
    /// When the last window was pushed, and whether it was a burst's.
    pushed: Option<(Instant, bool)>,
}

/// A window as sent, with every row.
#[derive(Debug)]
struct Sent {
    counts: (u32, u32, u32, u32),
    rows: Vec<ListItem>,
    revision: u64,
}

impl Sent {
    fn of(window: &ListWindow, rows: Vec<ListItem>) -> Self {
        Self {
            counts: counts(window),
            rows,
            revision: window.revision,
        }
    }

    /// `rows` as sent against this window: the rows it has already by their index in it.
    fn delta(&self, rows: &[ListItem]) -> Vec<WindowItem> {
        let at: HashMap<(bool, &ServerId, String), usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (key(row), i))
            .collect();
        rows.iter()
            .map(|row| match at.get(&key(row)) {
                Some(&i) if self.rows[i] == *row => WindowItem::Same(to_u32(i as u64)),
                _ => WindowItem::Row(Box::new(row.clone())),
            })
            .collect()
    }
}

fn counts(w: &ListWindow) -> (u32, u32, u32, u32) {
    (w.offset, w.total, w.alerts, w.all)
}

/// A row's identity: an alert's key, or a gap's server and start.
fn key(row: &ListItem) -> (bool, &ServerId, String) {
    match row {
        ListItem::Alert { alert, .. } => (true, &alert.server, alert.id.clone()),
        ListItem::Gap { gap } => (false, &gap.server, gap.from.to_rfc3339()),
    }
}

/// Where a window starts, as the history thread is asked for it.
enum Start {
    At(u64),
    Around(AlertKey),
    /// The anchor's place, `lead` rows below the window's start.
    Anchor(Place, u32),
}

/// What the history thread answers.
struct Read {
    page: ListPage,
    found: Option<u64>,
}

/// A window as read, with the place of each of its rows (`None`: an unrecorded row).
struct Drawn {
    /// The window without its rows (the caller decides how to send them).
    window: ListWindow,
    rows: Vec<ListItem>,
    places: Vec<Option<Place>>,
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ListState {
    /// Forgets the window (a new view subscribed).
    pub(super) fn reset(&mut self) {
        self.request = None;
        self.anchor = None;
        self.last = None;
    }

    /// Keeps rows the history could not record, bounded.
    pub(super) fn keep_unrecorded(&mut self, rows: impl IntoIterator<Item = AlertRow>) {
        for row in rows {
            self.unrecorded.push_front(row);
        }
        self.unrecorded.truncate(UNRECORDED_LIMIT);
    }
}

impl Actor {
    /// The window a view asks for; later batches bring it again when it changes.
    pub(super) async fn list_window(
        &mut self,
        mut request: ListRequest,
    ) -> Result<ListWindow, EngineError> {
        request.limit = request.limit.min(WINDOW_LIMIT);
        let start = match request.around.clone() {
            Some(key) => Start::Around(key),
            None => Start::At(u64::from(request.offset)),
        };
        let Drawn {
            mut window,
            rows,
            places,
        } = self.read_window(&request, start).await?;
        // The anchor: the row at the top of the view (or the alert asked for), unless the view follows the top.
        let anchor = window.found.unwrap_or(request.anchor);
        let state = &mut self.list;
        (state.anchor, state.lead) = (None, 0);
        if anchor > 0 {
            if let Some(lead) = anchor.checked_sub(window.offset) {
                state.anchor = places.get(lead as usize).copied().flatten();
                state.lead = lead;
            }
        }
        state.revision += 1;
        window.revision = state.revision;
        window.items = rows
            .iter()
            .cloned()
            .map(|r| WindowItem::Row(Box::new(r)))
            .collect();
        state.request = Some(request);
        state.last = Some(Sent::of(&window, rows));
        Ok(window)
    }

    /// The window again for a batch: `None` when no view asked for one, nothing in it changed, or a burst holds it
    /// back (then `pending.list` asks again at a later flush).
    pub(super) async fn list_again(&mut self) -> Option<ListWindow> {
        let request = self.list.request.clone()?;
        if let Some((at, true)) = self.list.pushed {
            if at.elapsed() < BURST_EVERY {
                self.pending.list = true;
                return None;
            }
        }
        let start = match self.list.anchor {
            Some(place) => Start::Anchor(place, self.list.lead),
            None => Start::At(u64::from(request.offset)),
        };
        let (mut window, rows) = match self.read_window(&request, start).await {
            Ok(drawn) => (drawn.window, drawn.rows),
            Err(e) => {
                tracing::error!("cannot read the list for the window: {e}");
                return None;
            }
        };
        match &self.list.last {
            Some(last) if last.counts == counts(&window) && last.rows == rows => return None,
            Some(last) => {
                window.items = last.delta(&rows);
                window.base = Some(last.revision);
            }
            None => {
                window.items = rows
                    .iter()
                    .cloned()
                    .map(|r| WindowItem::Row(Box::new(r)))
                    .collect();
            }
        }
        self.list.revision += 1;
        window.revision = self.list.revision;
        self.list.last = Some(Sent::of(&window, rows));
        let fresh = window
            .items
            .iter()
            .filter(|i| matches!(i, WindowItem::Row(_)))
            .count();
        self.list.pushed = Some((Instant::now(), fresh > BURST_ROWS));
        Some(window)
    }

    /// Reads a window from the history, with the unrecorded rows on top.
    async fn read_window(&self, request: &ListRequest, start: Start) -> Result<Drawn, EngineError> {
        let selection = self.selection(&request.filter);
        let head: Vec<AlertRow> = self
            .list
            .unrecorded
            .iter()
            .filter(|row| selection.filter.matches(&self.listed(row)))
            .cloned()
            .collect();
        let skip = head.len() as u64;
        let limit = request.limit as usize;
        let read = self
            .history
            .call(move |st| {
                let (mut offset, found) = match start {
                    Start::At(offset) => (offset, None),
                    Start::Around(key) => match st.list_place(&selection, &key.server, &key.id)? {
                        Some(place) => {
                            let at = skip + st.list_position(&selection, &place)?;
                            (at.saturating_sub(limit as u64 / 2), Some(at))
                        }
                        None => (0, None),
                    },
                    Start::Anchor(place, lead) => {
                        let at = skip + st.list_position(&selection, &place)?;
                        (at.saturating_sub(u64::from(lead)), None)
                    }
                };
                let page_at = |offset: u64| {
                    let taken = skip.saturating_sub(offset).min(limit as u64);
                    let rest = limit - usize::try_from(taken).unwrap_or(limit);
                    st.list_page(&selection, offset.saturating_sub(skip), rest)
                };
                let mut page = page_at(offset)?;
                let total = skip + page.counts.items;
                if offset > 0 && offset >= total {
                    // Past the end (the list shrank): its last rows instead.
                    offset = total.saturating_sub(limit as u64);
                    page = page_at(offset)?;
                }
                page.offset = offset;
                Ok::<_, StoreError>(Read { page, found })
            })
            .await?;
        Ok(assemble(request.seq, head, read, limit))
    }

    /// The filter, with the servers whose label contains its text.
    fn selection(&self, filter: &ListFilter) -> Selection {
        let needle = filter.needle();
        let labelled = if needle.is_empty() {
            Vec::new()
        } else {
            self.links
                .values()
                .filter(|l| l.view.label.to_lowercase().contains(&needle))
                .map(|l| l.view.server.clone())
                .collect()
        };
        Selection {
            filter: filter.clone(),
            labelled,
        }
    }

    fn listed<'a>(&'a self, row: &'a AlertRow) -> ListedAlert<'a> {
        ListedAlert {
            server: &row.server,
            label: self
                .links
                .get(&row.server)
                .map_or(row.server.as_str(), |l| l.view.label.as_str()),
            id: &row.id,
            kind: row.fields.kind,
            priority: row.fields.priority,
            title: &row.fields.title,
            body: &row.fields.body,
            read: row.life.read_at.is_some(),
        }
    }
}

/// The unrecorded rows in view, then the page's rows (revision 0: the caller numbers what it sends).
fn assemble(seq: u32, head: Vec<AlertRow>, read: Read, limit: usize) -> Drawn {
    let Read { page, found } = read;
    let skip = head.len() as u64;
    let mut items = Vec::with_capacity(limit);
    let mut places = Vec::with_capacity(limit);
    let from = usize::try_from(page.offset).unwrap_or(usize::MAX);
    for row in head.into_iter().skip(from).take(limit) {
        items.push(ListItem::Alert {
            alert: row,
            pinned: false,
        });
        places.push(None);
    }
    for (place, item) in page.items {
        places.push(Some(place));
        items.push(match item {
            Listed::Alert { alert, pinned } => ListItem::Alert {
                alert: (*alert).into(),
                pinned,
            },
            Listed::Gap(gap) => ListItem::Gap { gap: gap.into() },
        });
    }
    let window = ListWindow {
        seq,
        revision: 0,
        offset: to_u32(page.offset),
        total: to_u32(skip + page.counts.items),
        alerts: to_u32(skip + page.counts.alerts),
        all: to_u32(skip + page.counts.all),
        items: Vec::new(),
        base: None,
        found: found.map(to_u32),
    };
    Drawn {
        window,
        rows: items,
        places,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Alert, AlertFields, Kind, Priority, Source, Stated, Timestamp};

    fn row(id: &str) -> AlertRow {
        let alert = Alert {
            id: id.into(),
            profile: "p".into(),
            event: "e".into(),
            fields: AlertFields {
                kind: Kind::Report,
                title: format!("Report {id}"),
                body: String::new(),
                priority: Priority::Normal,
                assigned_to_me: false,
            },
            notify: true,
            received_at: Timestamp::now(),
            source: Source::Live,
            status: None,
            server_time: None,
            data: serde_json::Value::Null,
            stated: Stated::ALL,
        };
        AlertRow::unrecorded(&ServerId::from_stored("https://a.example"), &alert)
    }

    fn item(id: &str) -> ListItem {
        ListItem::Alert {
            alert: row(id),
            pinned: false,
        }
    }

    #[test]
    fn rows_the_history_could_not_record_stay_bounded_newest_first() {
        let mut state = ListState::default();
        state.keep_unrecorded((0..UNRECORDED_LIMIT + 10).map(|i| row(&i.to_string())));
        assert_eq!(state.unrecorded.len(), UNRECORDED_LIMIT);
        let newest = (UNRECORDED_LIMIT + 9).to_string();
        assert_eq!(state.unrecorded[0].id, newest);
    }

    #[test]
    fn a_push_sends_only_the_rows_the_view_does_not_hold() {
        let (a, b, c) = (item("a"), item("b"), item("c"));
        let sent = Sent {
            counts: (0, 2, 2, 2),
            rows: vec![b.clone(), c.clone()],
            revision: 7,
        };
        let mut changed = c.clone();
        if let ListItem::Alert { alert, .. } = &mut changed {
            alert.fields.title = "Changed".into();
        }
        let delta = sent.delta(&[a.clone(), b, changed.clone()]);
        assert_eq!(
            delta,
            [
                WindowItem::Row(Box::new(a)),
                WindowItem::Same(0),
                WindowItem::Row(Box::new(changed)),
            ]
        );
        // On the wire: a row is an object, a row held already its index.
        let json = serde_json::to_value(&delta).unwrap();
        assert_eq!(json[1], serde_json::json!(0));
        assert_eq!(json[0]["type"], "alert");
    }
}
