//! The window's list, a page at a time: which alerts a [`ListFilter`] selects, in the list's order, read from the
//! history as the view scrolls, so that neither the web view nor the core holds more than the rows in view.
//!
//! # Order
//!
//! Unacknowledged assignments to me first ("pinned"), newest first by first arrival; then every other alert,
//! newest first by first arrival, with the link gaps where they happened (a gap and an alert at the same time: the
//! alert first). Equal times go to the later insert. Gaps are listed only while nothing but the server is filtered.
//!
//! Every item has a [`Place`] in that order, and [`Store::list_position`] says how many items come before a
//! place, whether or not an item is still there: a view keeps the rows it shows in place while new alerts arrive
//! above them.
//!
//! # Cost
//!
//! Counts and pages run on the `alerts_list` index (first arrival, then every column a filter but the text reads),
//! so they never read the alerts' rows, only the index: a few milliseconds for 50,000 alerts. A text search reads
//! the rows (title, body), and the rows of a page are read by rowid.

use std::fmt::Write as _;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::query::{attach_each, stored_alert_at, to_u64, ALERT_COLUMNS};
use super::{Fail, Gap, Store, StoreError, StoredAlert};
use crate::domain::{Kind, Priority, ServerId, Timestamp};

/// The name of the SQL function the text search uses (see [`register_functions`]).
const CONTAINS: &str = "alertdesk_contains";

/// An unacknowledged assignment to me (the `alerts_pinned` index has exactly this `WHERE`).
const PINNED: &str = "assigned_to_me = 1 AND acknowledged_at IS NULL";

/// The list's filters, as the window sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ListFilter {
    /// Only this server's alerts (and gaps).
    #[serde(default)]
    pub server: Option<ServerId>,
    /// Only this kind.
    #[serde(default)]
    pub kind: Option<Kind>,
    /// Only this priority and above.
    #[serde(default)]
    pub min_priority: Option<Priority>,
    /// Only unread alerts.
    #[serde(default)]
    pub unread_only: bool,
    /// Text the title, body or id contains (or the server's label, see [`Selection::labelled`]), in any case.
    #[serde(default)]
    pub text: String,
}

impl ListFilter {
    /// Gaps are listed while nothing but the server is filtered.
    pub fn shows_gaps(&self) -> bool {
        self.kind.is_none()
            && self.min_priority.is_none()
            && !self.unread_only
            && self.needle().is_empty()
    }

    /// The search text as it is matched: trimmed, in lowercase.
    pub fn needle(&self) -> String {
        self.text.trim().to_lowercase()
    }

    /// Whether an alert with these values is selected (for rows that are not in the history).
    pub fn matches(&self, alert: &ListedAlert<'_>) -> bool {
        let needle = self.needle();
        self.server.as_ref().is_none_or(|s| s == alert.server)
            && self.kind.is_none_or(|k| k == alert.kind)
            && self.min_priority.is_none_or(|p| alert.priority >= p)
            && (!self.unread_only || !alert.read)
            && (needle.is_empty()
                || [alert.title, alert.body, alert.id, alert.label]
                    .iter()
                    .any(|text| contains_folded(text, &needle)))
    }
}

/// What [`ListFilter::matches`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct ListedAlert<'a> {
    /// Its server.
    pub server: &'a ServerId,
    /// What the user calls the server.
    pub label: &'a str,
    /// Its id.
    pub id: &'a str,
    /// Its kind.
    pub kind: Kind,
    /// Its priority.
    pub priority: Priority,
    /// Its title.
    pub title: &'a str,
    /// Its body.
    pub body: &'a str,
    /// Read already.
    pub read: bool,
}

/// A filter, and the servers whose label contains its text (the history does not know labels).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The filters.
    pub filter: ListFilter,
    /// Servers whose label contains the filter's text: all their alerts match it.
    pub labelled: Vec<ServerId>,
}

/// Where an item is in the list's order (see the module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// In the pinned part at the top.
    pub pinned: bool,
    /// First arrival (an alert), or when the link came back (a gap; when it went down while it still is).
    pub at: Timestamp,
    /// A gap.
    pub gap: bool,
    /// The rowid (an alert) or the gap's id: later inserts first.
    pub n: i64,
}

/// One item of the list.
#[derive(Debug, Clone, PartialEq)]
pub enum Listed {
    /// An alert; `pinned` at the top.
    Alert {
        /// The alert.
        alert: Box<StoredAlert>,
        /// An unacknowledged assignment to me.
        pinned: bool,
    },
    /// A time the link was down.
    Gap(Gap),
}

/// How many items a selection lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCounts {
    /// Items: alerts and gaps.
    pub items: u64,
    /// Alerts among them.
    pub alerts: u64,
    /// The pinned ones among them (they come first).
    pub pinned: u64,
    /// Alerts in the history, whatever the filter.
    pub all: u64,
}

/// A page of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// The index of the first item.
    pub offset: u64,
    /// The counts of the whole selection.
    pub counts: ListCounts,
    /// The items, in order, each with its place.
    pub items: Vec<(Place, Listed)>,
}

impl Store {
    /// How many items `selection` lists.
    pub fn list_counts(&self, selection: &Selection) -> Result<ListCounts, StoreError> {
        self.read(|conn| Ok(counts(conn, selection)?))
    }

    /// Up to `limit` items of `selection` from index `offset` on.
    pub fn list_page(
        &self,
        selection: &Selection,
        offset: u64,
        limit: usize,
    ) -> Result<ListPage, StoreError> {
        self.read(|conn| {
            let counts = counts(conn, selection)?;
            let mut places = Vec::with_capacity(limit);
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let at = i64::try_from(offset).unwrap_or(i64::MAX);
            let pinned = i64::try_from(counts.pinned).unwrap_or(i64::MAX);
            if at < pinned {
                places.extend(pinned_places(conn, selection, at, limit)?);
            }
            let rest = limit - i64::try_from(places.len()).unwrap_or(0);
            if rest > 0 {
                places.extend(rest_places(conn, selection, (at - pinned).max(0), rest)?);
            }
            let items = read_items(conn, places)?;
            Ok(ListPage {
                offset,
                counts,
                items,
            })
        })
    }

    /// How many items of `selection` come before `place` (its index, when an item is there).
    pub fn list_position(&self, selection: &Selection, place: &Place) -> Result<u64, StoreError> {
        self.read(|conn| Ok(position(conn, selection, place)?))
    }

    /// The place of an alert, when `selection` lists it.
    pub fn list_place(
        &self,
        selection: &Selection,
        server: &ServerId,
        id: &str,
    ) -> Result<Option<Place>, StoreError> {
        self.read(|conn| {
            let mut args = vec![
                SqlValue::Text(server.as_str().to_owned()),
                SqlValue::Text(id.to_owned()),
            ];
            let sql = format!(
                "SELECT ({PINNED}), first_received_at, rowid FROM alerts WHERE server = ? AND id = ?{}",
                alert_filter(selection, &mut args)
            );
            let found = conn
                .prepare(&sql)?
                .query_row(params_from_iter(args), |row| {
                    Ok(Place {
                        pinned: row.get(0)?,
                        at: row.get(1)?,
                        gap: false,
                        n: row.get(2)?,
                    })
                })
                .optional()?;
            Ok(found)
        })
    }
}

/// The conditions of `selection` on `alerts`, each as ` AND ...`, their values pushed to `args`.
fn alert_filter(selection: &Selection, args: &mut Vec<SqlValue>) -> String {
    let filter = &selection.filter;
    let mut sql = String::new();
    let mut text = |sql: &mut String, clause: &str, value: &str| {
        sql.push_str(clause);
        args.push(SqlValue::Text(value.to_owned()));
    };
    if let Some(server) = &filter.server {
        text(&mut sql, " AND server = ?", server.as_str());
    }
    if let Some(kind) = filter.kind {
        text(&mut sql, " AND kind = ?", kind.as_str());
    }
    if let Some(min) = filter.min_priority {
        let allowed: Vec<_> = [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Critical,
        ]
        .into_iter()
        .filter(|p| *p >= min)
        .map(|p| format!("'{}'", p.as_str()))
        .collect();
        let _ = write!(sql, " AND priority IN ({})", allowed.join(", "));
    }
    if filter.unread_only {
        sql.push_str(" AND read_at IS NULL");
    }
    let needle = filter.needle();
    if !needle.is_empty() {
        let _ = write!(
            sql,
            " AND ({CONTAINS}(title, ?) OR {CONTAINS}(body, ?) OR {CONTAINS}(id, ?)"
        );
        for _ in 0..3 {
            text(&mut sql, "", &needle);
        }
        for server in &selection.labelled {
            text(&mut sql, " OR server = ?", server.as_str());
        }
        sql.push(')');
    }
    sql
}

/// The gaps `selection` lists, as ` AND ...` on `gaps` (`None`: no gaps at all).
fn gap_filter(selection: &Selection, args: &mut Vec<SqlValue>) -> Option<String> {
    if !selection.filter.shows_gaps() {
        return None;
    }
    Some(match &selection.filter.server {
        Some(server) => {
            args.push(SqlValue::Text(server.as_str().to_owned()));
            " AND server = ?".into()
        }
        None => String::new(),
    })
}

fn count(conn: &Connection, sql: &str, args: Vec<SqlValue>) -> rusqlite::Result<u64> {
    conn.prepare_cached(sql)?
        .query_row(params_from_iter(args), |row| row.get::<_, i64>(0))
        .map(to_u64)
}

fn counts(conn: &Connection, selection: &Selection) -> rusqlite::Result<ListCounts> {
    let mut args = Vec::new();
    let filter = alert_filter(selection, &mut args);
    let alerts = count(
        conn,
        &format!("SELECT COUNT(*) FROM alerts INDEXED BY alerts_list WHERE 1 = 1{filter}"),
        args.clone(),
    )?;
    let pinned = count(
        conn,
        &format!("SELECT COUNT(*) FROM alerts WHERE {PINNED}{filter}"),
        args,
    )?;
    let mut args = Vec::new();
    let gaps = match gap_filter(selection, &mut args) {
        Some(filter) => count(
            conn,
            &format!("SELECT COUNT(*) FROM gaps WHERE 1 = 1{filter}"),
            args,
        )?,
        None => 0,
    };
    let all = count(conn, "SELECT COUNT(*) FROM alerts", Vec::new())?;
    Ok(ListCounts {
        items: alerts + gaps,
        alerts,
        pinned,
        all,
    })
}

fn pinned_places(
    conn: &Connection,
    selection: &Selection,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<Vec<Place>> {
    let mut args = Vec::new();
    let sql = format!(
        "SELECT first_received_at, rowid FROM alerts WHERE {PINNED}{} \
         ORDER BY first_received_at DESC, rowid DESC LIMIT ? OFFSET ?",
        alert_filter(selection, &mut args)
    );
    args.extend([SqlValue::Integer(limit), SqlValue::Integer(offset)]);
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(args), |row| {
        Ok(Place {
            pinned: true,
            at: row.get(0)?,
            gap: false,
            n: row.get(1)?,
        })
    })?;
    rows.collect()
}

/// Places after the pinned part: alerts and gaps merged by time.
fn rest_places(
    conn: &Connection,
    selection: &Selection,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<Vec<Place>> {
    let mut args = Vec::new();
    let mut sql = format!(
        "SELECT 0 AS gap, first_received_at AS at, rowid AS n FROM alerts INDEXED BY alerts_list \
         WHERE NOT ({PINNED}){}",
        alert_filter(selection, &mut args)
    );
    if let Some(filter) = gap_filter(selection, &mut args) {
        let _ = write!(
            sql,
            " UNION ALL SELECT 1, COALESCE(to_ts, from_ts), gap_id FROM gaps WHERE 1 = 1{filter}"
        );
    }
    sql.push_str(" ORDER BY at DESC, gap ASC, n DESC LIMIT ? OFFSET ?");
    args.extend([SqlValue::Integer(limit), SqlValue::Integer(offset)]);
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(args), |row| {
        Ok(Place {
            pinned: false,
            gap: row.get(0)?,
            at: row.get(1)?,
            n: row.get(2)?,
        })
    })?;
    rows.collect()
}

/// The alert or gap at each place (one that is gone meanwhile is left out).
fn read_items(conn: &Connection, places: Vec<Place>) -> Result<Vec<(Place, Listed)>, Fail> {
    let mut items = Vec::with_capacity(places.len());
    let alert_sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE rowid = ?1");
    for place in places {
        if place.gap {
            let gap = conn
                .prepare_cached(
                    "SELECT gap_id, server, from_ts, to_ts, note FROM gaps WHERE gap_id = ?1",
                )?
                .query_row(params![place.n], |row| {
                    Ok(Gap {
                        id: row.get(0)?,
                        server: row.get(1)?,
                        from: row.get(2)?,
                        to: row.get(3)?,
                        note: row.get(4)?,
                    })
                })
                .optional()?;
            items.extend(gap.map(|gap| (place, Listed::Gap(gap))));
        } else {
            let alert = conn
                .prepare_cached(&alert_sql)?
                .query_row(params![place.n], |row| stored_alert_at(row, 0))
                .optional()?;
            items.extend(alert.map(|alert| {
                (
                    place,
                    Listed::Alert {
                        alert: Box::new(alert),
                        pinned: place.pinned,
                    },
                )
            }));
        }
    }
    let mut alerts: Vec<&mut StoredAlert> = items
        .iter_mut()
        .filter_map(|(_, item)| match item {
            Listed::Alert { alert, .. } => Some(alert.as_mut()),
            Listed::Gap(_) => None,
        })
        .collect();
    attach_each(conn, &mut alerts)?;
    Ok(items)
}

/// How many items of `selection` come before `place`.
fn position(conn: &Connection, selection: &Selection, place: &Place) -> rusqlite::Result<u64> {
    let mut args = Vec::new();
    let filter = alert_filter(selection, &mut args);
    // Alerts before the place: later first arrival, or the same and inserted later (a gap there comes after every
    // alert of its time).
    let (before, key) = if place.gap {
        (
            "first_received_at >= ?",
            vec![SqlValue::Text(place.at.to_rfc3339())],
        )
    } else {
        (
            "(first_received_at > ? OR (first_received_at = ? AND rowid > ?))",
            vec![
                SqlValue::Text(place.at.to_rfc3339()),
                SqlValue::Text(place.at.to_rfc3339()),
                SqlValue::Integer(place.n),
            ],
        )
    };
    let with = |extra: &[SqlValue]| {
        let mut all = args.clone();
        all.extend_from_slice(extra);
        all
    };
    let pinned_before = count(
        conn,
        &format!("SELECT COUNT(*) FROM alerts WHERE {PINNED}{filter} AND {before}"),
        with(&key),
    )?;
    if place.pinned {
        return Ok(pinned_before);
    }
    let pinned = count(
        conn,
        &format!("SELECT COUNT(*) FROM alerts WHERE {PINNED}{filter}"),
        args.clone(),
    )?;
    let all_before = count(
        conn,
        &format!(
            "SELECT COUNT(*) FROM alerts INDEXED BY alerts_list WHERE 1 = 1{filter} AND {before}"
        ),
        with(&key),
    )?;
    let gaps_before = if selection.filter.shows_gaps() {
        let (before, mut gap_args) = if place.gap {
            (
                "(COALESCE(to_ts, from_ts) > ? OR (COALESCE(to_ts, from_ts) = ? AND gap_id > ?))",
                vec![
                    SqlValue::Text(place.at.to_rfc3339()),
                    SqlValue::Text(place.at.to_rfc3339()),
                    SqlValue::Integer(place.n),
                ],
            )
        } else {
            (
                "COALESCE(to_ts, from_ts) > ?",
                vec![SqlValue::Text(place.at.to_rfc3339())],
            )
        };
        let filter = gap_filter(selection, &mut gap_args).unwrap_or_default();
        count(
            conn,
            &format!("SELECT COUNT(*) FROM gaps WHERE {before}{filter}"),
            gap_args,
        )?
    } else {
        0
    };
    Ok(pinned + (all_before - pinned_before) + gaps_before)
}

/// Whether `haystack` contains `needle` (already in lowercase), ignoring case; ASCII text without allocating.
pub(crate) fn contains_folded(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(needle)
}

/// Adds the SQL functions the list uses to a connection: `alertdesk_contains(text, needle)`, case-insensitive
/// (Unicode) containment, which SQLite's `LIKE` does only for ASCII.
pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        CONTAINS,
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let haystack = ctx.get_raw(0).as_str_or_null().ok().flatten();
            let needle = ctx.get_raw(1).as_str_or_null().ok().flatten();
            Ok(match (haystack, needle) {
                (Some(h), Some(n)) => contains_folded(h, n),
                _ => false,
            })
        },
    )
}
