//! What a link opens: the profile, server, variables and token made into a [`LinkSpec`].

use serde_json::Value;

use super::protocol::{Heartbeat, Limits, LinkSpec, Outgoing};
use super::rest::auth_header;
use super::Target;
use crate::domain::ServerError;
use crate::profile::{render_value, template::Missing, AuthMode, Protocol, Scope};

/// Why a profile cannot be applied to a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The profile sends a token and there is none.
    #[error("no token for {server} (profile {profile})")]
    NoToken {
        /// The server.
        server: String,
        /// The profile.
        profile: String,
    },
    /// A connect query parameter needs a variable that is not set.
    #[error("profile {profile}: connect.query.{key}: {missing}")]
    Query {
        /// The profile.
        profile: String,
        /// The parameter.
        key: String,
        /// What is missing.
        missing: Missing,
    },
    /// An event sent after connecting needs a variable that is not set.
    #[error("profile {profile}: connect.emit[{index}]: {missing}")]
    Emit {
        /// The profile.
        profile: String,
        /// Which emit.
        index: usize,
        /// What is missing.
        missing: Missing,
    },
    /// The WebSocket URL cannot be built.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// Builds the link from the profile, server, variables and token.
pub fn link_spec(target: &Target, heartbeat: Heartbeat) -> Result<LinkSpec, SpecError> {
    let profile = &target.profile;
    let mut url = target.server.ws_url(profile.ws_path())?;
    let vars = &target.vars;
    let scope = Scope::of_vars(vars);
    {
        let mut query = url.query_pairs_mut();
        if profile.protocol == Protocol::Socketio {
            query
                .append_pair("EIO", "4")
                .append_pair("transport", "websocket");
        }
        for (key, template) in &profile.connect.query {
            let value = template
                .render(&scope)
                .map_err(|missing| SpecError::Query {
                    profile: profile.name.clone(),
                    key: key.clone(),
                    missing,
                })?;
            query.append_pair(key, &value);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let mut headers = Vec::new();
    let mut auth = None;
    match (profile.auth.mode, &target.token) {
        (AuthMode::None, _) => {}
        (_, None) if profile.auth.optional => {}
        (_, None) => {
            return Err(SpecError::NoToken {
                server: target.server.to_string(),
                profile: profile.name.clone(),
            })
        }
        (AuthMode::Query, Some(token)) => {
            url.query_pairs_mut()
                .append_pair(&profile.auth.param, token.expose());
        }
        (AuthMode::Header, Some(_)) => headers.extend(auth_header(target)),
        (AuthMode::Socketio, Some(token)) => {
            auth = Some(serde_json::json!({ profile.auth.field.clone(): token.expose() }));
        }
    }
    Ok(LinkSpec {
        url,
        headers,
        namespace: profile.namespace.clone(),
        auth,
        emits: emits(target)?,
        heartbeat,
        limits: Limits::default(),
        recovery: None,
        net: target.net.clone(),
    })
}

/// The events sent once connected (join rooms, register a user id), one per item of an `each` variable.
fn emits(target: &Target) -> Result<Vec<Outgoing>, SpecError> {
    let (profile, vars) = (&target.profile, &target.vars);
    let mut emits = Vec::new();
    for (index, emit) in profile.connect.emit.iter().enumerate() {
        let items: Vec<Option<String>> = match &emit.each {
            Some(var) => vars
                .get(var.trim_start_matches('$'))
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Some(s.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            None => vec![None],
        };
        for item in items {
            let mut vars = vars.clone();
            if let Some(item) = item {
                vars.insert("item".into(), item);
            }
            let scope = Scope::of_vars(&vars);
            let data = match emit
                .data
                .as_ref()
                .map(|d| render_value(d, &scope))
                .transpose()
            {
                Ok(data) => data.unwrap_or(Value::Null),
                Err(_) if emit.optional => continue,
                Err(missing) => {
                    return Err(SpecError::Emit {
                        profile: profile.name.clone(),
                        index,
                        missing,
                    })
                }
            };
            emits.push(Outgoing {
                event: emit.event.clone(),
                data,
                ack: emit.ack,
            });
        }
    }
    Ok(emits)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::domain::{Server, Token};
    use crate::profile::Profile;

    fn target(name: &str, set: &[(&str, &str)], token: Option<&str>) -> Target {
        let profile = Arc::new(Profile::load(name).unwrap());
        let set: BTreeMap<String, String> = set
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let vars = profile.resolve_variables(&set).unwrap();
        Target {
            cursor: None,
            profile,
            server: Server::parse("http://127.0.0.1:5000").unwrap(),
            vars,
            token: token.map(Token::new),
            discover_base: false,
            net: crate::link::net::Net::for_tests(),
        }
    }

    #[test]
    fn token_goes_where_each_profile_says() {
        let spec = link_spec(
            &target("station-reports", &[], Some("T0K")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(spec.url.as_str(), "ws://127.0.0.1:5000/ws?token=T0K");
        assert!(spec.headers.is_empty() && spec.auth.is_none());

        let spec = link_spec(
            &target("crowd-monitoring", &[("event_id", "EV1")], Some("T0K")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(
            spec.url.as_str(),
            "ws://127.0.0.1:5000/socket.io/?EIO=4&transport=websocket&eventId=EV1"
        );
        assert_eq!(spec.auth, Some(json!({"token": "T0K"})));

        let spec = link_spec(&target("ticketing", &[], Some("T0K")), Heartbeat::default()).unwrap();
        assert_eq!(spec.url.as_str(), "ws://127.0.0.1:5000/ws/updates");
        assert_eq!(
            spec.headers,
            vec![("Authorization".to_string(), "Bearer T0K".to_string())]
        );
        assert!(
            link_spec(&target("ticketing", &[], None), Heartbeat::default()).is_ok(),
            "token optional"
        );

        // Seed 001 never asks for a token on the socket: none is sent until the server refuses.
        let spec = link_spec(&target("service-calls", &[], None), Heartbeat::default()).unwrap();
        assert!(spec.auth.is_none());
        let err =
            link_spec(&target("station-reports", &[], None), Heartbeat::default()).unwrap_err();
        assert!(matches!(err, SpecError::NoToken { .. }), "{err}");
        assert!(!err.to_string().contains("--"), "no CLI wording: {err}");
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        const SECRET: &str = "S3CRET-T0K";
        for (name, set) in [
            ("station-reports", &[][..]),
            ("crowd-monitoring", &[("event_id", "EV1")][..]),
            ("ticketing", &[][..]),
            ("emergency-dispatch", &[("rooms", "a")][..]),
        ] {
            let target = target(name, set, Some(SECRET));
            let mut spec = link_spec(&target, Heartbeat::default()).unwrap();
            spec.emits.push(Outgoing {
                event: Some("auth".into()),
                data: json!({ "token": SECRET }),
                ack: false,
            });
            spec.recovery = Some(crate::link::protocol::Recovery {
                pid: SECRET.into(),
                offset: "7".into(),
            });
            for shown in [
                format!("{target:?}"),
                format!("{spec:?}"),
                format!("{spec:#?}"),
            ] {
                assert!(!shown.contains(SECRET), "{name}: {shown}");
            }
            assert!(format!("{spec:?}").contains("***"), "{name}");
        }
    }

    #[test]
    fn connect_emits_follow_variables() {
        let spec = link_spec(
            &target("emergency-dispatch", &[("rooms", "a, b")], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        let rooms: Vec<_> = spec
            .emits
            .iter()
            .map(|e| (e.event.clone().unwrap(), e.data.clone()))
            .collect();
        assert_eq!(
            rooms,
            [
                ("join".into(), json!({"room": "a"})),
                ("join".into(), json!({"room": "b"}))
            ]
        );
        let spec = link_spec(
            &target("service-calls", &[], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        assert!(
            spec.emits.is_empty(),
            "register is optional without user_id"
        );
        let spec = link_spec(
            &target("service-calls", &[("user_id", "u-1")], Some("t")),
            Heartbeat::default(),
        )
        .unwrap();
        assert_eq!(spec.emits[0].data, json!("u-1"));
    }
}
