//! The demo's data: users, reports, and the store that numbers every change and publishes it on the feed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// One of the demo's sign-in accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user id; `assigned_to`, `acknowledged_by` and `status_by` hold it.
    pub id: &'static str,
    /// The sign-in name.
    #[serde(skip)]
    pub username: &'static str,
    /// The password (every demo user has `demo`).
    #[serde(skip)]
    pub password: &'static str,
    /// Display name.
    pub name: &'static str,
    /// `officer` or `dispatcher`.
    pub role: Role,
    /// The officer's station; `None` (a dispatcher) sees every station.
    pub station_id: Option<u32>,
}

/// What a user may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees the reports of one station.
    Officer,
    /// Sees the reports of every station.
    Dispatcher,
}

/// The demo logins. Both passwords are `demo`: this backend holds no real data and listens on loopback only.
pub const USERS: &[User] = &[
    User {
        id: "officer",
        username: "officer",
        password: "demo",
        name: "Officer Sam Carter",
        role: Role::Officer,
        station_id: Some(4),
    },
    User {
        id: "dispatcher",
        username: "dispatcher",
        password: "demo",
        name: "Dispatcher Alex Kim",
        role: Role::Dispatcher,
        station_id: None,
    },
];

impl User {
    /// Whether this user sees the reports of `station_id`.
    pub fn sees(&self, station_id: u32) -> bool {
        self.station_id.is_none_or(|own| own == station_id)
    }
}

/// A report's urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The usual.
    Normal,
    /// Soon.
    High,
    /// Now.
    Critical,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Self; 4] = [Self::Low, Self::Normal, Self::High, Self::Critical];
}

/// Where a report is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nobody is on it yet.
    New,
    /// Given to an officer.
    Assigned,
    /// The officer is on the way.
    EnRoute,
    /// The officer is there.
    OnScene,
    /// Done.
    Closed,
}

/// An officer's status response to a report (`POST /api/reports/{id}/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusAnswer {
    /// On the way: the report becomes `en_route`.
    EnRoute,
    /// There: the report becomes `on_scene`.
    OnScene,
    /// Cannot take it: the report goes back to `new` (unassigned) unless someone else holds it.
    Unable,
    /// Done: the report becomes `closed`.
    Closed,
}

impl StatusAnswer {
    /// Every answer, in the order the API lists them.
    pub(crate) const ALL: [Self; 4] = [Self::EnRoute, Self::OnScene, Self::Unable, Self::Closed];

    /// The name the API uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::EnRoute => "en_route",
            Self::OnScene => "on_scene",
            Self::Unable => "unable",
            Self::Closed => "closed",
        }
    }

    /// The answer of an API name.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A report as the API and the feed send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Stable id, from 1.
    pub id: u64,
    /// The global change number of this report's last change.
    pub seq: u64,
    /// What happened (`Burglary`).
    pub category: String,
    /// One line from the caller.
    pub description: String,
    /// How urgent.
    pub priority: Priority,
    /// Street address or crossing.
    pub location: String,
    /// The station whose officers get it.
    pub station_id: u32,
    /// Where it is in its life.
    pub status: Status,
    /// The user id it is assigned to.
    pub assigned_to: Option<String>,
    /// The latest note added to it.
    pub note: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC: the last change.
    pub updated_at: String,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged (RFC 3339, UTC).
    pub acknowledged_at: Option<String>,
    /// Who gave the last status response (en route, on scene, unable, closed).
    pub status_by: Option<String>,
    /// When the last status response was given (RFC 3339, UTC).
    pub status_at: Option<String>,
}

/// What a new report starts with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    /// What happened.
    pub(crate) category: String,
    /// One line from the caller.
    pub(crate) description: String,
    /// How urgent.
    pub(crate) priority: Priority,
    /// Street address or crossing.
    pub(crate) location: String,
    /// The station whose officers get it.
    pub(crate) station_id: u32,
}

/// Which field a `report_updated` message changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    /// `status` moved on.
    Status,
    /// `priority` went up or down.
    Priority,
    /// `note` was set.
    Note,
    /// `acknowledged_by` was set.
    Acknowledged,
}

/// A feed message: `{"type": "new_report", "report": ...}` and friends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FeedMessage<'a> {
    NewReport { report: &'a Report },
    ReportUpdated { report: &'a Report, change: Change },
    ReportAssigned { report: &'a Report },
}

/// One message on the feed, serialized once for every connection.
#[derive(Debug)]
pub(crate) struct Published {
    /// Only users who see this station get it.
    pub(crate) station_id: u32,
    /// The JSON text (shared by every connection without copying).
    pub(crate) text: Utf8Bytes,
}

/// A signed-in session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    pub(crate) user: &'static User,
    /// When the token stops working (monotonic, so clock changes cannot extend it).
    pub(crate) expires: Instant,
}

/// The reports and the change counter. Every mutation publishes its message while the store is locked, so
/// the feed's order is the `seq` order.
pub(crate) struct Store {
    reports: Vec<Report>,
    seq: u64,
    feed: broadcast::Sender<Arc<Published>>,
    /// The last status response to each answered report, by report id.
    answers: HashMap<u64, LastAnswer>,
}

/// A report's last status response, and what it left the report's status and assignment at: the same
/// response again is a retry (a no-op) only while nothing has moved them since.
#[derive(Debug, Clone, PartialEq)]
struct LastAnswer {
    by: &'static str,
    answer: StatusAnswer,
    note: Option<String>,
    status: Status,
    assigned_to: Option<String>,
}

/// Why a report change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such report, or not one this user sees.
    NotFound,
    /// The report (this id) is closed: only `closed` may be answered.
    Closed(u64),
}

impl Store {
    pub(crate) fn new(feed: broadcast::Sender<Arc<Published>>) -> Self {
        Self {
            reports: Vec::new(),
            seq: 0,
            feed,
            answers: HashMap::new(),
        }
    }

    /// The latest change number (0 before the first change).
    pub(crate) fn latest_seq(&self) -> u64 {
        self.seq
    }

    /// Every report, oldest first.
    pub(crate) fn reports(&self) -> &[Report] {
        &self.reports
    }

    /// The reports `user` sees whose last change is after `since`, in change order.
    pub(crate) fn changed_since(&self, user: &User, since: u64) -> Vec<Report> {
        let mut changed: Vec<Report> = self
            .reports
            .iter()
            .filter(|r| r.seq > since && user.sees(r.station_id))
            .cloned()
            .collect();
        changed.sort_by_key(|r| r.seq);
        changed
    }

    /// Adds a report and publishes `new_report`.
    pub(crate) fn create(&mut self, draft: Draft) -> Report {
        let now = timestamp(Utc::now());
        self.seq += 1;
        let report = Report {
            id: self.reports.len() as u64 + 1,
            seq: self.seq,
            category: draft.category,
            description: draft.description,
            priority: draft.priority,
            location: draft.location,
            station_id: draft.station_id,
            status: Status::New,
            assigned_to: None,
            note: None,
            created_at: now.clone(),
            updated_at: now,
            acknowledged_by: None,
            acknowledged_at: None,
            status_by: None,
            status_at: None,
        };
        self.reports.push(report.clone());
        self.publish(&report, &FeedMessage::NewReport { report: &report });
        report
    }

    /// Assigns a report and publishes `report_assigned`.
    pub(crate) fn assign(&mut self, id: u64, assignee: &str) -> Result<Report, Refusal> {
        let report = self.touch(id, |r| {
            r.assigned_to = Some(assignee.to_string());
            if matches!(r.status, Status::New | Status::Closed) {
                r.status = Status::Assigned;
            }
        })?;
        self.publish(&report, &FeedMessage::ReportAssigned { report: &report });
        Ok(report)
    }

    /// Changes a report and publishes `report_updated` with `change`.
    pub(crate) fn update(
        &mut self,
        id: u64,
        change: Change,
        edit: impl FnOnce(&mut Report),
    ) -> Result<Report, Refusal> {
        let report = self.touch(id, edit)?;
        self.publish(
            &report,
            &FeedMessage::ReportUpdated {
                report: &report,
                change,
            },
        );
        Ok(report)
    }

    /// Records `user`'s acknowledgement. Acknowledging again changes nothing and publishes nothing, so a
    /// client may retry the request safely.
    pub(crate) fn acknowledge(&mut self, id: u64, user: &User) -> Result<Report, Refusal> {
        let existing = self.get(id).filter(|r| user.sees(r.station_id));
        match existing {
            None => Err(Refusal::NotFound),
            Some(r) if r.acknowledged_by.is_some() => Ok(r.clone()),
            Some(_) => self.update(id, Change::Acknowledged, |r| {
                r.acknowledged_by = Some(user.id.to_string());
                r.acknowledged_at = Some(r.updated_at.clone());
            }),
        }
    }

    /// Records `user`'s status response and publishes `report_updated` with change `status`.
    ///
    /// `en_route`, `on_scene` and `closed` set the status (and the note, when one is given). `unable` puts the
    /// report back to `new` and unassigns it, unless it is assigned to someone else (then their assignment
    /// and status stay); either way the note says who could not take it. The same response again (same
    /// user, status and note) while nothing has moved the report's status or assignment since changes
    /// nothing and publishes nothing, so a client may retry safely. A closed report takes only `closed`.
    pub(crate) fn answer(
        &mut self,
        id: u64,
        user: &User,
        answer: StatusAnswer,
        note: Option<&str>,
    ) -> Result<Report, Refusal> {
        let report = self
            .get(id)
            .filter(|r| user.sees(r.station_id))
            .ok_or(Refusal::NotFound)?;
        if report.status == Status::Closed && answer != StatusAnswer::Closed {
            return Err(Refusal::Closed(id));
        }
        let retry = self.answers.get(&id).is_some_and(|last| {
            last.by == user.id
                && last.answer == answer
                && last.note.as_deref() == note
                && last.status == report.status
                && last.assigned_to == report.assigned_to
        });
        if retry {
            return Ok(report.clone());
        }
        let report = self.update(id, Change::Status, |r| {
            match answer {
                StatusAnswer::EnRoute => r.status = Status::EnRoute,
                StatusAnswer::OnScene => r.status = Status::OnScene,
                StatusAnswer::Closed => r.status = Status::Closed,
                StatusAnswer::Unable => {
                    if r.assigned_to
                        .as_deref()
                        .is_none_or(|holder| holder == user.id)
                    {
                        r.status = Status::New;
                        r.assigned_to = None;
                    }
                }
            }
            let unable = format!("Unable: {}", user.name);
            match (answer, note) {
                (StatusAnswer::Unable, Some(note)) => r.note = Some(format!("{unable}: {note}")),
                (StatusAnswer::Unable, None) => r.note = Some(unable),
                (_, Some(note)) => r.note = Some(note.to_string()),
                (_, None) => {}
            }
            r.status_by = Some(user.id.to_string());
            r.status_at = Some(r.updated_at.clone());
        })?;
        self.answers.insert(
            id,
            LastAnswer {
                by: user.id,
                answer,
                note: note.map(str::to_string),
                status: report.status,
                assigned_to: report.assigned_to.clone(),
            },
        );
        Ok(report)
    }

    /// Whether the last status response to a report is `unable` from this user (who should not get it
    /// assigned again by the simulator).
    pub(crate) fn declined_by(&self, id: u64, user_id: &str) -> bool {
        self.answers
            .get(&id)
            .is_some_and(|last| last.answer == StatusAnswer::Unable && last.by == user_id)
    }

    /// A report by id.
    pub(crate) fn get(&self, id: u64) -> Option<&Report> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.reports.get(index)
    }

    /// Applies `edit`, then stamps the report with the next change number and time.
    fn touch(&mut self, id: u64, edit: impl FnOnce(&mut Report)) -> Result<Report, Refusal> {
        let index = id
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i < self.reports.len())
            .ok_or(Refusal::NotFound)?;
        self.seq += 1;
        let report = &mut self.reports[index];
        report.seq = self.seq;
        report.updated_at = timestamp(Utc::now());
        edit(report);
        Ok(report.clone())
    }

    fn publish(&self, report: &Report, message: &FeedMessage<'_>) {
        let text = serde_json::to_string(message).expect("reports always serialize");
        // No receiver (nobody connected) is not an error: the change is still in the store for backfill.
        let _ = self.feed.send(Arc::new(Published {
            station_id: report.station_id,
            text: Utf8Bytes::from(text),
        }));
    }
}

/// The sessions by token.
#[derive(Default)]
pub(crate) struct Sessions {
    by_token: HashMap<String, Session>,
}

impl Sessions {
    /// Adds a session, dropping expired ones first so the map cannot grow without bound.
    pub(crate) fn insert(&mut self, token: String, session: Session) {
        let now = Instant::now();
        self.by_token.retain(|_, s| s.expires > now);
        self.by_token.insert(token, session);
    }

    /// The session of a token that has not expired.
    pub(crate) fn get(&self, token: &str) -> Option<Session> {
        self.by_token
            .get(token)
            .filter(|s| s.expires > Instant::now())
            .copied()
    }
}

/// RFC 3339 in UTC with milliseconds, as every timestamp of the demo API.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
