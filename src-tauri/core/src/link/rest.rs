//! The REST side of a link: every GET a profile asks for (records, lists) with the profile's auth header, and
//! reading list answers in the shapes servers use.

use serde_json::Value;

use super::auth::without_url;
use super::Target;
use crate::domain::{Server, ServerError};
use crate::profile::{template, Scope};

/// A failed REST fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The server refused the credentials (HTTP 401 or 403).
    Rejected(String),
    /// Anything else: unreachable, an error status, not JSON.
    Failed(String),
}

/// GETs JSON from one server with the profile's auth header.
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    server: Server,
    /// The header REST calls carry (secret: never logged).
    auth: Option<(String, String)>,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("server", &self.server)
            .field("auth", &self.auth.as_ref().map(|(name, _)| name))
            .finish_non_exhaustive()
    }
}

impl Rest {
    /// The REST client of `target`.
    pub fn new(http: reqwest::Client, target: &Target) -> Self {
        Self {
            http,
            server: target.server.clone(),
            auth: auth_header(target),
        }
    }

    /// The URL of `path` on the server.
    pub fn url(&self, path: &str) -> Result<url::Url, ServerError> {
        self.server.http_url(path)
    }

    /// GETs `url` and reads the answer as JSON. 401/403 are a [`Fetched::Rejected`].
    pub async fn get(&self, url: url::Url) -> Result<Value, Fetched> {
        let mut request = self.http.get(url.clone());
        if let Some((name, value)) = &self.auth {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Fetched::Failed(without_url(&e)))?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(Fetched::Rejected(format!(
                "HTTP {status} from {}",
                url.path()
            )));
        }
        if !status.is_success() {
            return Err(Fetched::Failed(format!("HTTP {status}")));
        }
        response
            .json::<Value>()
            .await
            .map_err(|e| Fetched::Failed(format!("answer is not JSON: {e}")))
    }

    /// GETs `path`: the answer, or `None` after logging a failure (the alert then goes out without the
    /// record). A rejection is returned: the credentials no longer work.
    pub async fn get_path(&self, path: &str) -> Result<Option<Value>, String> {
        let url = match self.url(path) {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!("fetch: {e}");
                return Ok(None);
            }
        };
        match self.get(url).await {
            Ok(value) => Ok(Some(value)),
            Err(Fetched::Rejected(reason)) => Err(reason),
            Err(Fetched::Failed(message)) => {
                tracing::warn!("fetch {path}: {message}");
                Ok(None)
            }
        }
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

/// The array of records in a list answer: at `items` when given, else the answer itself when it is an array,
/// else the only array-valued field of an object.
pub fn list_items<'a>(answer: &'a Value, items: &str) -> Vec<&'a Value> {
    let found = if items.is_empty() {
        match answer {
            Value::Array(a) => Some(a),
            Value::Object(map) => {
                let arrays: Vec<_> = map.values().filter_map(Value::as_array).collect();
                (arrays.len() == 1).then(|| arrays[0])
            }
            _ => None,
        }
    } else {
        let segments: Vec<String> = items.split('.').map(str::to_string).collect();
        template::select(answer, &segments).and_then(Value::as_array)
    };
    found.map(|a| a.iter().collect()).unwrap_or_default()
}

/// A record's field at dot path `key`, as text (numbers and other values in their JSON form).
pub fn record_key(record: &Value, key: &str) -> Option<String> {
    let segments: Vec<String> = key.split('.').map(str::to_string).collect();
    match template::select(record, &segments)? {
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
    fn list_answers_in_common_shapes() {
        let a = json!([{"id": 1}, {"id": 2}]);
        assert_eq!(list_items(&a, "").len(), 2);
        let b = json!({"tickets": [{"id": 1}], "total": 1});
        assert_eq!(list_items(&b, "").len(), 1);
        let c = json!({"data": {"items": [{"id": 1}]}});
        assert_eq!(list_items(&c, "data.items").len(), 1);
        assert!(is_newest_first(&[json!({"id": 3}), json!({"id": 1})]));
        assert!(!is_newest_first(&[json!({"id": 1}), json!({"id": 3})]));
        assert_eq!(
            record_key(&json!({"a": {"b": 7}}), "a.b").as_deref(),
            Some("7")
        );
        assert_eq!(record_key(&json!({"a": null}), "a"), None);
    }
}
