//! Where a server keeps its REST API. Built-in profiles hang every REST path off `$api_base` (default `/api`);
//! deployments of the same design put it elsewhere (`/tickets` rather than `/api/tickets`). Unless the user set
//! `api_base`, a link finds the working base on first contact with one cheap request per candidate (the
//! profile's first list), remembers it per server with its cursors, and logs its choice.

use std::collections::BTreeMap;

use super::rest::{Fetched, Rest};
use crate::profile::{Profile, Scope};

/// The variable every built-in profile's REST paths start with.
pub const VARIABLE: &str = "api_base";

/// The bases tried after the remembered one and the profile's default.
pub const USUAL: &[&str] = &["/api", "", "/api/v1"];

/// The bases to try, in order: the one remembered from the last run, the profile's default, the usual ones.
pub fn candidates(remembered: Option<&str>, default: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for base in remembered
        .into_iter()
        .chain(std::iter::once(default))
        .chain(USUAL.iter().copied())
    {
        let base = base.trim_end_matches('/').to_string();
        if !out.contains(&base) {
            out.push(base);
        }
    }
    out
}

/// The request that checks a base: the profile's first list, else its first list fetch, else its login path,
/// rendered with `api_base` = `base` (query values that need a cursor are left out).
pub fn probe_url(
    rest: &Rest,
    profile: &Profile,
    vars: &BTreeMap<String, String>,
    base: &str,
) -> Option<url::Url> {
    let mut vars = vars.clone();
    vars.insert(VARIABLE.into(), base.to_string());
    let scope = Scope::of_vars(&vars);
    if let Some(list) = profile.backfill.first() {
        let mut url = rest.url(&list.path.render_path(&scope).ok()?).ok()?;
        for (key, value) in &list.query {
            if let Ok(value) = value.render(&scope) {
                url.query_pairs_mut().append_pair(key, &value);
            }
        }
        return Some(url);
    }
    let fetched = profile
        .rules
        .iter()
        .filter_map(|r| r.fetch.as_ref()?.list.as_ref())
        .find_map(|list| list.render_path(&scope).ok());
    let path = match fetched {
        Some(path) => path,
        None => profile.auth.login.as_ref()?.path.render_path(&scope).ok()?,
    };
    rest.url(&path).ok()
}

/// What looking for the base found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// This base answers.
    Base(String),
    /// None of the candidates answers (each said "no such path", or answered something that is not JSON).
    Nothing,
    /// The server did not answer at all: try again at the next contact.
    Unreachable(String),
}

/// Tries each candidate in order and returns the first that has the probe path: it answers JSON, or refuses
/// the credentials (the path exists behind auth), or fails with another status than "not found".
pub async fn discover(
    rest: &Rest,
    profile: &Profile,
    vars: &BTreeMap<String, String>,
    candidates: &[String],
) -> Found {
    for base in candidates {
        let Some(url) = probe_url(rest, profile, vars, base) else {
            continue;
        };
        match rest.get(url).await {
            Ok(_) | Err(Fetched::Rejected(_)) => return Found::Base(base.clone()),
            Err(Fetched::Unreachable(why)) => return Found::Unreachable(why),
            Err(e) if e.is_wrong_path() => {}
            Err(Fetched::Status { .. }) => return Found::Base(base.clone()),
            // A page that is not JSON (a web app's index at the root): not the API.
            Err(Fetched::Failed(_)) => {}
        }
    }
    Found::Nothing
}

/// "/api" for messages ("/" for the root).
pub fn shown(base: &str) -> &str {
    if base.is_empty() {
        "/"
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn candidates_in_order_without_repeats() {
        assert_eq!(candidates(None, "/api"), ["/api", "", "/api/v1"]);
        assert_eq!(
            candidates(Some("/tickets-api/"), "/api/v1"),
            ["/tickets-api", "/api/v1", "/api", ""]
        );
    }
}
