//! The HTTP routes: login, the report list, creating, assigning, acknowledging and answering reports, and the
//! WebSocket upgrade.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::model::{timestamp, Draft, Priority, Refusal, Session, StatusAnswer, User, USERS};
use crate::{feed, lock, Shared};

/// Longest accepted text field: enough for any report, small enough that nobody fills the memory.
const MAX_TEXT: usize = 2000;

/// Longest note of a status response, in characters.
const MAX_NOTE: usize = 200;

/// Largest WebSocket message a client may send (clients have nothing to say; this only bounds memory).
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/login", post(login))
        .route("/api/reports", get(list_reports).post(create_report))
        .route("/api/reports/{id}/assign", post(assign_report))
        .route("/api/reports/{id}/acknowledge", post(acknowledge_report))
        .route("/api/reports/{id}/status", post(answer_report))
        .route("/ws", get(open_feed))
        .with_state(shared)
}

/// An error response: `{"error": "..."}` with a status.
struct ApiError(StatusCode, String);

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, message.into())
    }

    fn unauthorized() -> Self {
        Self(
            StatusCode::UNAUTHORIZED,
            "missing, invalid or expired token: sign in at POST /api/login".into(),
        )
    }

    fn not_found() -> Self {
        Self(StatusCode::NOT_FOUND, "no such report".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Self::not_found(),
            Refusal::Closed(id) => Self(StatusCode::CONFLICT, format!("report {id} is closed")),
        }
    }
}

/// What a browser pointed at the server sees.
async fn index() -> Json<serde_json::Value> {
    Json(json!({
        "name": "Alertdesk demo backend",
        "logins": USERS.iter().map(|u| json!({"username": u.username, "password": u.password})).collect::<Vec<_>>(),
        "endpoints": [
            "POST /api/login",
            "GET /ws?token=TOKEN",
            "GET /api/reports?since=SEQ",
            "POST /api/reports",
            "POST /api/reports/{id}/assign",
            "POST /api/reports/{id}/acknowledge",
            "POST /api/reports/{id}/status",
        ],
    }))
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(shared): State<Arc<Shared>>,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let user = USERS
        .iter()
        .find(|u| u.username == body.username && u.password == body.password)
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "invalid username or password".into(),
            )
        })?;
    let token = new_token();
    let expires_at = TimeDelta::from_std(shared.token_ttl)
        .ok()
        .and_then(|ttl| Utc::now().checked_add_signed(ttl))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC);
    lock(&shared.sessions).insert(
        token.clone(),
        Session {
            user,
            expires: Instant::now() + shared.token_ttl,
        },
    );
    tracing::info!(user = user.id, "demo login");
    Ok(Json(json!({
        "token": token,
        "expires_at": timestamp(expires_at),
        "user": user,
    })))
}

/// 32 hex characters. fastrand is not a cryptographic generator: fine for a demo that holds no real data and
/// listens on loopback only.
fn new_token() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// The user of the request's `Authorization: Bearer` token.
fn bearer_user(shared: &Shared, headers: &HeaderMap) -> Result<&'static User, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    token_user(shared, token.trim()).ok_or_else(ApiError::unauthorized)
}

fn token_user(shared: &Shared, token: &str) -> Option<&'static User> {
    lock(&shared.sessions).get(token).map(|s| s.user)
}

#[derive(Deserialize)]
struct ListQuery {
    since: Option<u64>,
}

async fn list_reports(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = bearer_user(&shared, &headers)?;
    let Query(query) =
        query.map_err(|_| ApiError::bad_request("since must be a change number (seq)"))?;
    let store = lock(&shared.store);
    let reports = store.changed_since(user, query.since.unwrap_or(0));
    Ok(Json(
        json!({ "reports": reports, "latest_seq": store.latest_seq() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReport {
    category: String,
    #[serde(default)]
    description: String,
    #[serde(default = "normal")]
    priority: Priority,
    #[serde(default)]
    location: String,
    station_id: Option<u32>,
}

fn normal() -> Priority {
    Priority::Normal
}

async fn create_report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<NewReport>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let user = bearer_user(&shared, &headers)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if body.category.trim().is_empty() {
        return Err(ApiError::bad_request("category is required"));
    }
    if [&body.category, &body.description, &body.location]
        .iter()
        .any(|t| t.len() > MAX_TEXT)
    {
        return Err(ApiError::bad_request(format!(
            "text fields are limited to {MAX_TEXT} bytes"
        )));
    }
    let station_id = body
        .station_id
        .or(user.station_id)
        .ok_or_else(|| ApiError::bad_request("station_id is required"))?;
    let report = lock(&shared.store).create(Draft {
        category: body.category,
        description: body.description,
        priority: body.priority,
        location: body.location,
        station_id,
    });
    Ok((StatusCode::CREATED, Json(json!(report))))
}

#[derive(Deserialize)]
struct AssignBody {
    assigned_to: String,
}

async fn assign_report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<AssignBody>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = bearer_user(&shared, &headers)?;
    let Path(id) = id.map_err(|_| ApiError::not_found())?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let assignee = body.assigned_to.trim();
    if assignee.is_empty() || assignee.len() > MAX_TEXT {
        return Err(ApiError::bad_request("assigned_to must be a user id"));
    }
    let mut store = lock(&shared.store);
    if !store.get(id).is_some_and(|r| user.sees(r.station_id)) {
        return Err(ApiError::not_found());
    }
    let report = store.assign(id, assignee)?;
    Ok(Json(json!(report)))
}

async fn acknowledge_report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = bearer_user(&shared, &headers)?;
    let Path(id) = id.map_err(|_| ApiError::not_found())?;
    let report = lock(&shared.store).acknowledge(id, user)?;
    Ok(Json(json!({
        "id": report.id,
        "acknowledged_by": report.acknowledged_by,
        "acknowledged_at": report.acknowledged_at,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
    #[serde(default)]
    note: Option<String>,
}

/// What a status response's body must be, for its 400 answers.
fn status_body_expected() -> String {
    let names: Vec<String> = StatusAnswer::ALL
        .iter()
        .map(|a| format!("\"{}\"", a.name()))
        .collect();
    format!(
        "expected {{\"status\": {}, \"note\": optional text of at most {MAX_NOTE} characters}}",
        names.join(" | ")
    )
}

async fn answer_report(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = bearer_user(&shared, &headers)?;
    let Path(id) = id.map_err(|_| ApiError::not_found())?;
    let bad_body =
        |problem: String| ApiError::bad_request(format!("{problem}; {}", status_body_expected()));
    let Json(body) = body.map_err(|e| bad_body(e.body_text()))?;
    // Only an object: serde would also take a struct from an array of its fields.
    if !body.is_object() {
        return Err(bad_body("the body must be a JSON object".into()));
    }
    let body: StatusBody = serde_json::from_value(body).map_err(|e| bad_body(e.to_string()))?;
    let answer = StatusAnswer::parse(&body.status).ok_or_else(|| {
        let names: Vec<&str> = StatusAnswer::ALL.iter().map(|a| a.name()).collect();
        ApiError::bad_request(format!(
            "unknown status {:?}: status must be one of {}",
            body.status,
            names.join(", ")
        ))
    })?;
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(ApiError::bad_request(format!(
            "note is limited to {MAX_NOTE} characters"
        )));
    }
    let report = lock(&shared.store).answer(id, user, answer, note)?;
    Ok(Json(json!(report)))
}

#[derive(Deserialize)]
struct FeedQuery {
    token: Option<String>,
}

/// `GET /ws?token=T`: the token is checked before the upgrade, so a bad one is a plain HTTP 401.
async fn open_feed(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<FeedQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let session = query
        .ok()
        .and_then(|Query(q)| q.token)
        .and_then(|token| lock(&shared.sessions).get(&token));
    let Some(session) = session else {
        return ApiError::unauthorized().into_response();
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // Subscribe before answering the upgrade: a change made right after the client sees the 101 still
    // reaches it.
    let published = shared.feed.subscribe();
    let stopping = shared.stopping.clone();
    let alive = shared.feeds_alive.clone();
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            feed::serve(socket, session, published, stopping).await;
            drop(alive);
        })
}
