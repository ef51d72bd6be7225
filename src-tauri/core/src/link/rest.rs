//! The REST side of a link: every GET a profile asks for (records, lists) with the profile's auth header, and
//! reading list answers in the shapes servers use.

use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;

use super::http;
use super::Target;
use crate::domain::{Server, ServerError};
use crate::profile::{template, Scope};

/// A failed REST fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The server refused the credentials (HTTP 401 or 403).
    Rejected(String),
    /// The request did not get an answer (refused, timed out, TLS).
    Unreachable(String),
    /// The server answered with an error status.
    Status {
        /// The HTTP status code.
        code: u16,
        /// "HTTP 404 Not Found".
        message: String,
    },
    /// The server answered, but not with JSON (or the path made no URL).
    Failed(String),
}

impl Fetched {
    /// What went wrong, as a phrase.
    pub fn message(&self) -> &str {
        match self {
            Self::Rejected(m) | Self::Unreachable(m) | Self::Failed(m) => m,
            Self::Status { message, .. } => message,
        }
    }

    /// Nothing is at that path (404, 405 or 410): another base path may be the right one.
    pub fn is_wrong_path(&self) -> bool {
        matches!(
            self,
            Self::Status {
                code: 404 | 405 | 410,
                ..
            }
        )
    }
}

/// GETs JSON from one server with the profile's auth header.
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    server: Server,
    /// The header REST calls carry (secret: never logged), shared by every clone so a renewed token reaches
    /// all of a link's fetches at once.
    auth: Arc<RwLock<Option<(String, String)>>>,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("server", &self.server)
            .field("auth", &self.header().map(|(name, _)| name))
            .finish_non_exhaustive()
    }
}

impl Rest {
    /// The REST client of `target`.
    pub fn new(http: reqwest::Client, target: &Target) -> Self {
        Self {
            http,
            server: target.server.clone(),
            auth: Arc::new(RwLock::new(auth_header(target))),
        }
    }

    /// Sends `target`'s token from now on (a renewed sign-in), in this client and every clone of it.
    pub fn set_auth(&self, target: &Target) {
        let header = auth_header(target);
        *self.auth.write().unwrap_or_else(PoisonError::into_inner) = header;
    }

    fn header(&self) -> Option<(String, String)> {
        self.auth
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The URL of `path` on the server.
    pub fn url(&self, path: &str) -> Result<url::Url, ServerError> {
        self.server.http_url(path)
    }

    /// GETs `url` and reads the answer as JSON (within [`http::max_body`]). 401/403 are a [`Fetched::Rejected`];
    /// a redirect to another origin is a [`Fetched::Failed`] naming it.
    pub async fn get(&self, url: url::Url) -> Result<Value, Fetched> {
        let mut request = self.http.get(url.clone());
        if let Some((name, value)) = self.header() {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| {
            // A refused redirect is an answer, not an outage.
            if e.is_redirect() {
                Fetched::Failed(http::describe(&e))
            } else {
                Fetched::Unreachable(http::describe(&e))
            }
        })?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(Fetched::Rejected(format!(
                "HTTP {status} from {}",
                url.path()
            )));
        }
        if !status.is_success() {
            return Err(Fetched::Status {
                code: status.as_u16(),
                message: format!("HTTP {status}"),
            });
        }
        http::read_json(response)
            .await
            .map_err(|e| Fetched::Failed(e.to_string()))
    }

    /// GETs `path`: the answer, or why not. A path that makes no URL counts as a failed fetch.
    pub async fn get_path(&self, path: &str) -> Result<Value, Fetched> {
        let url = self.url(path).map_err(|e| Fetched::Failed(e.to_string()))?;
        self.get(url).await
    }
}

/// The header REST calls carry: the profile's auth header when there is a token.
pub fn auth_header(target: &Target) -> Option<(String, String)> {
    let token = target.token.as_ref()?;
    let mut vars = target.vars.clone();
    vars.insert("token".into(), token.expose().to_string());
    let value = target
        .profile
        .auth
        .value
        .render(&Scope::of_vars(&vars))
        .ok()?;
    Some((target.profile.auth.header.clone(), value))
}

/// A list answer that holds no list of records where the profile says, nor anywhere unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

/// The records of a list answer, and a note when they were not where the profile's `items` said.
#[derive(Debug, Clone, PartialEq)]
pub struct Items<'a> {
    /// The records, in the server's order.
    pub records: Vec<&'a Value>,
    /// Set when the records were found elsewhere than `items` (say it once: the profile does not match).
    pub note: Option<String>,
}

/// The array of records in a list answer: at `items` when it is there; otherwise, read tolerantly, the answer
/// itself when it is an array, or the one array among its fields (or their fields). Anything else is an error,
/// never an empty list: an answer of the wrong shape must not look like "nothing new".
pub fn list_items<'a>(answer: &'a Value, items: &str) -> Result<Items<'a>, ShapeError> {
    if !items.is_empty() {
        let segments: Vec<String> = items.split('.').map(str::to_string).collect();
        if let Some(Value::Array(records)) = template::select(answer, &segments) {
            return Ok(Items {
                records: records.iter().collect(),
                note: None,
            });
        }
    }
    let (path, records) = find_array(answer)?;
    let note = (!items.is_empty()).then(|| match path.as_str() {
        "" => format!("`items = \"{items}\"` does not match: the answer is a bare array"),
        path => format!("`items = \"{items}\"` does not match: the records are under `{path}`"),
    });
    Ok(Items {
        records: records.iter().collect(),
        note,
    })
}

/// The one array in an answer: the answer itself (path ""), or the only array among its fields and their fields.
pub fn find_array(answer: &Value) -> Result<(String, &Vec<Value>), ShapeError> {
    let map = match answer {
        Value::Array(records) => return Ok((String::new(), records)),
        Value::Object(map) => map,
        other => {
            return Err(ShapeError(format!(
                "the answer is {} instead of a list",
                json_kind(other)
            )))
        }
    };
    let mut found: Vec<(String, &Vec<Value>)> = map
        .iter()
        .filter_map(|(k, v)| v.as_array().map(|a| (k.clone(), a)))
        .collect();
    if found.is_empty() {
        for (key, value) in map {
            if let Value::Object(inner) = value {
                found.extend(
                    inner
                        .iter()
                        .filter_map(|(k, v)| v.as_array().map(|a| (format!("{key}.{k}"), a))),
                );
            }
        }
    }
    let fields = || map.keys().cloned().collect::<Vec<_>>().join(", ");
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ShapeError(format!(
            "the answer is an object with no list in it (fields: {})",
            fields()
        ))),
        _ => Err(ShapeError(format!(
            "the answer holds several lists ({}); set `items` to the one with the records",
            found
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// "a string", "an object", ... for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A record's field at dot path `key` (or the first of its alternatives, `id || _id`), as text (numbers and
/// other values in their JSON form).
pub fn record_key(record: &Value, key: &str) -> Option<String> {
    match template::select_first(record, key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Whether records look sorted newest first (by `createdAt`/`created_at`, else by a numeric id).
pub fn is_newest_first(records: &[Value]) -> bool {
    let stamp = |r: &Value| -> Option<String> {
        ["createdAt", "created_at", "id"]
            .iter()
            .find_map(|k| r.get(*k))
            .map(|v| match v {
                Value::Number(n) => format!("{:020}", n.as_u64().unwrap_or(0)),
                other => other.to_string(),
            })
    };
    match (
        records.first().and_then(stamp),
        records.last().and_then(stamp),
    ) {
        (Some(first), Some(last)) => first > last,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_mismatched_list_is_read_tolerantly_and_said_or_refused() {
        // The profile says `reports`; the server answers a bare array: read it, and say the profile is off.
        let bare = json!([{"id": 1}, {"id": 2}]);
        let items = list_items(&bare, "reports").unwrap();
        assert_eq!(items.records.len(), 2);
        assert!(items.note.unwrap().contains("bare array"));
        let data = json!({"data": [{"id": 1}], "total": 1});
        let items = list_items(&data, "reports").unwrap();
        assert!(items.note.unwrap().contains("`data`"));
        // No list anywhere, several lists, or not an object at all: an error, never "zero records".
        for (answer, says) in [
            (json!({"error": "not found"}), "no list"),
            (json!({"open": [1], "closed": [2]}), "several lists"),
            (json!("OK"), "a string"),
            (json!(null), "null"),
            (json!({"reports": "none"}), "no list"),
        ] {
            let err = list_items(&answer, "reports").unwrap_err();
            assert!(err.0.contains(says), "{answer}: {err}");
        }
    }

    #[test]
    fn list_answers_in_common_shapes() {
        let count =
            |answer: &Value, items: &str| list_items(answer, items).map(|i| i.records.len());
        let a = json!([{"id": 1}, {"id": 2}]);
        assert_eq!(count(&a, ""), Ok(2));
        let b = json!({"tickets": [{"id": 1}], "total": 1});
        assert_eq!(count(&b, ""), Ok(1));
        let c = json!({"data": {"items": [{"id": 1}]}});
        assert_eq!(count(&c, "data.items"), Ok(1));
        assert_eq!(
            count(&c, ""),
            Ok(1),
            "one level down, when it is the only list"
        );
        assert!(is_newest_first(&[json!({"id": 3}), json!({"id": 1})]));
        assert!(list_items(&json!([]), "reports")
            .unwrap()
            .records
            .is_empty());
        assert!(!is_newest_first(&[json!({"id": 1}), json!({"id": 3})]));
        assert_eq!(
            record_key(&json!({"a": {"b": 7}}), "a.b").as_deref(),
            Some("7")
        );
        assert_eq!(record_key(&json!({"a": null}), "a"), None);
    }
}
