use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{rules, Profile};
use crate::domain::{Kind, Priority};

fn vars(profile: &Profile, set: &[(&str, &str)]) -> BTreeMap<String, String> {
    let set = set
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    profile.resolve_variables(&set).unwrap()
}

/// (kind, priority, title, assigned_to_me, id) of the alert a built-in profile makes of an event.
fn classify(
    name: &str,
    set: &[(&str, &str)],
    event: &str,
    payload: Value,
    record: Option<Value>,
) -> Option<(Kind, Priority, String, bool, String)> {
    let profile = Profile::load(name).unwrap();
    let m = rules::find(&profile.rules, event, &payload)?;
    if m.rule.ignore {
        return None;
    }
    let a = m
        .rule
        .build(&profile.name, event, payload, record, &vars(&profile, set))
        .ok()?;
    Some((
        a.fields.kind,
        a.fields.priority,
        a.fields.title,
        a.fields.assigned_to_me,
        a.id,
    ))
}

#[test]
fn every_builtin_profile_loads() {
    let names: Vec<_> = Profile::builtins().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "demo",
            "emergency-dispatch",
            "service-calls",
            "station-reports",
            "crowd-monitoring",
            "ticketing"
        ]
    );
}

#[test]
fn emergency_dispatch_rules() {
    let created = json!({"id": "E-1", "type": "Fire", "description": "Kitchen fire", "priority": "critical",
                         "location": "Main St 4", "status": "pending"});
    assert_eq!(
        classify(
            "emergency-dispatch",
            &[],
            "emergency_created",
            created,
            None
        ),
        Some((
            Kind::Report,
            Priority::Critical,
            "Fire: Kitchen fire".into(),
            false,
            "emergency-E-1".into()
        ))
    );
    let assigned = json!({"action": "assigned", "emergency": {"id": "E-1", "type": "Fire",
                          "description": "Kitchen fire", "priority": "high", "unit_id": "U-7"}});
    let got = classify(
        "emergency-dispatch",
        &[("user_id", "U-7")],
        "emergency_updated",
        assigned.clone(),
        None,
    );
    assert_eq!(
        got.map(|g| (g.0, g.1, g.3, g.4)),
        Some((
            Kind::Assignment,
            Priority::High,
            true,
            "emergency-E-1".into()
        ))
    );
    let got = classify(
        "emergency-dispatch",
        &[],
        "emergency_updated",
        assigned,
        None,
    )
    .unwrap();
    assert!(!got.3, "no user_id set: not assigned to me");
    let completed =
        json!({"action": "completed", "emergency": {"id": "E-1", "description": "Kitchen fire"}});
    let got = classify(
        "emergency-dispatch",
        &[],
        "emergency_updated",
        completed,
        None,
    )
    .unwrap();
    assert_eq!(
        (got.0, got.2.as_str()),
        (Kind::Update, "Emergency completed: Kitchen fire")
    );
    let unit = json!({"unit_id": "U-7", "status": "en_route", "emergency_id": "E-1"});
    assert_eq!(
        classify("emergency-dispatch", &[], "unit_status_update", unit, None)
            .unwrap()
            .0,
        Kind::Info
    );
    assert_eq!(
        classify(
            "emergency-dispatch",
            &[],
            "dashboard_update",
            json!({}),
            None
        ),
        None
    );
}

#[test]
fn service_calls_rules() {
    let call =
        json!({"id": "C-3", "title": "Printer jam", "customer": "ACME", "priority": "urgent"});
    let got = classify("service-calls", &[], "call_created", call, None).unwrap();
    assert_eq!(
        (got.0, got.1, got.2.as_str()),
        (Kind::Report, Priority::Critical, "New call: Printer jam")
    );
    let assigned = json!({"id": "C-3", "title": "Printer jam", "assignedTo": "u-officer", "priority": "normal"});
    let me = classify(
        "service-calls",
        &[("user_id", "u-officer")],
        "call_assigned",
        assigned.clone(),
        None,
    );
    assert_eq!(me.map(|g| (g.0, g.3)), Some((Kind::Assignment, true)));
    let other = classify(
        "service-calls",
        &[("user_id", "u-dispatcher")],
        "call_assigned",
        assigned,
        None,
    );
    assert_eq!(other.map(|g| (g.0, g.3)), Some((Kind::Assignment, false)));
    let deleted = json!({"id": "u-officer", "message": "bye"});
    assert_eq!(
        classify("service-calls", &[], "user_deleted", deleted, None)
            .unwrap()
            .0,
        Kind::Alert
    );
    assert_eq!(
        classify("service-calls", &[], "category_created", json!({}), None),
        None,
        "no rule: dropped"
    );
}

#[test]
fn station_reports_accepts_both_payload_shapes() {
    let a = json!({"type": "new_report", "report": {"id": 12, "category": "Burglary", "description": "Back door",
                   "priority": "high", "station_id": 4}});
    let b = json!({"event": "new_report", "data": {"id": 12, "category": "Burglary", "description": "Back door",
                   "priority": "high", "station_id": 4}});
    let profile = Profile::load("station-reports").unwrap();
    for payload in [a, b] {
        let scope_vars = BTreeMap::new();
        let scope = super::Scope {
            payload: &payload,
            vars: &scope_vars,
            record: None,
        };
        let event = profile.message.event.render(&scope).unwrap();
        assert_eq!(event, "new_report");
        let got = classify("station-reports", &[], &event, payload, None).unwrap();
        assert_eq!(
            got,
            (
                Kind::Report,
                Priority::High,
                "Burglary: Back door".into(),
                false,
                "report-12".into()
            )
        );
    }
}

#[test]
fn demo_rules() {
    let report = json!({"id": 9, "seq": 14, "category": "Missing person", "description": "Boy, 8",
                        "priority": "critical", "location": "12 Elm St", "station_id": 4, "status": "new",
                        "assigned_to": null, "note": null});
    let profile = Profile::load("demo").unwrap();
    assert_eq!(
        profile.default_server.as_deref(),
        Some("http://127.0.0.1:8765")
    );
    let message = json!({"type": "new_report", "report": report});
    let scope_vars = BTreeMap::new();
    let scope = super::Scope {
        payload: &message,
        vars: &scope_vars,
        record: None,
    };
    assert_eq!(profile.message.event.render(&scope).unwrap(), "new_report");
    assert_eq!(
        classify("demo", &[], "new_report", message, None),
        Some((
            Kind::Report,
            Priority::Critical,
            "Missing person: Boy, 8".into(),
            false,
            "demo-9".into()
        ))
    );

    let mut assigned = report.clone();
    assigned["assigned_to"] = json!("officer");
    assigned["priority"] = json!("high");
    let message = json!({"type": "report_assigned", "report": assigned});
    let mine = classify("demo", &[], "report_assigned", message.clone(), None).unwrap();
    assert_eq!(
        (mine.0, mine.1, mine.3, mine.4.as_str()),
        (Kind::Assignment, Priority::High, true, "demo-9"),
        "user_id defaults to officer"
    );
    let theirs = classify(
        "demo",
        &[("user_id", "dispatcher")],
        "report_assigned",
        message,
        None,
    )
    .unwrap();
    assert!(!theirs.3);

    let message = json!({"type": "report_updated", "change": "status",
                         "report": {"id": 9, "category": "Missing person", "description": "Boy, 8",
                                    "priority": "normal", "status": "en_route", "assigned_to": "officer"}});
    let update = classify("demo", &[], "report_updated", message, None).unwrap();
    assert_eq!(
        update,
        (
            Kind::Update,
            Priority::Normal,
            "Update (status): Missing person: Boy, 8".into(),
            true,
            "demo-9".into()
        )
    );
    assert_eq!(
        classify("demo", &[], "something_else", json!({}), None),
        None
    );
}

#[test]
fn crowd_monitoring_rules() {
    let set = [("event_id", "EV1")];
    let alert = json!({"id": "a1", "type": "overcrowding", "message": "Zone B over 50", "severity": "critical"});
    let got = classify("crowd-monitoring", &set, "alert:new", alert, None).unwrap();
    assert_eq!(
        (got.0, got.1, got.2.as_str()),
        (
            Kind::Alert,
            Priority::Critical,
            "overcrowding: Zone B over 50"
        )
    );
    assert_eq!(
        classify(
            "crowd-monitoring",
            &set,
            "alert:updated",
            json!({"id": "a1", "status": "resolved"}),
            None
        )
        .unwrap()
        .4,
        "alert-a1"
    );
    assert_eq!(
        classify(
            "crowd-monitoring",
            &set,
            "report:new",
            json!({"id": "r1", "message": "m", "type": "medical"}),
            None
        )
        .unwrap()
        .0,
        Kind::Report
    );
    assert_eq!(
        classify(
            "crowd-monitoring",
            &set,
            "action:created",
            json!({"id": "x", "command": "Open gate 3"}),
            None
        )
        .unwrap()
        .0,
        Kind::Assignment
    );
    let insight = classify(
        "crowd-monitoring",
        &set,
        "insight:update",
        json!({"riskScore": 78}),
        None,
    )
    .unwrap();
    assert_eq!((insight.0, insight.4.as_str()), (Kind::Info, "insight-EV1"));
    assert_eq!(
        classify(
            "crowd-monitoring",
            &set,
            "map:update",
            json!({"points": []}),
            None
        ),
        None
    );
    let profile = Profile::load("crowd-monitoring").unwrap();
    let err = profile
        .resolve_variables(&BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("event_id"), "{err}");
}

#[test]
fn ticketing_title_comes_from_the_fetched_record() {
    let record = json!({"id": 5, "title": "Replace router", "site": "HQ", "priority": "high"});
    let got = classify(
        "ticketing",
        &[],
        "ticket",
        json!({"type": "ticket", "action": "create"}),
        Some(record),
    )
    .unwrap();
    assert_eq!(
        got,
        (
            Kind::Report,
            Priority::High,
            "Replace router".into(),
            false,
            "ticket-5".into()
        )
    );
    let update = classify(
        "ticketing",
        &[],
        "ticket",
        json!({"type": "ticket", "action": "claimed", "id": 5}),
        None,
    );
    assert_eq!(
        update.map(|g| (g.0, g.4)),
        Some((Kind::Update, "ticket-5".into()))
    );
}

#[test]
fn unknown_keys_and_bad_templates_name_the_line() {
    let text = "name = \"x\"\nprotocol = \"websocket\"\n[[rules]]\nevent = \"e\"\nkind = \"report\"\ntitel = \"t\"\n";
    let err = Profile::parse(text, "my.toml").unwrap_err().to_string();
    assert!(err.starts_with("my.toml: line 6"), "{err}");
    assert!(err.contains("titel"), "{err}");

    let text = "name = \"x\"\nprotocol = \"websocket\"\n[[rules]]\nevent = \"e\"\nkind = \"report\"\ntitle = \"{{a\"\n";
    let err = Profile::parse(text, "my.toml").unwrap_err().to_string();
    assert!(err.contains("line 6") && err.contains("unclosed"), "{err}");

    let text =
        "name = \"x\"\nprotocol = \"websocket\"\n[[rules]]\nevent = \"e\"\nkind = \"report\"\ntitle = \"{{$who}}\"\n";
    let err = Profile::parse(text, "my.toml").unwrap_err().to_string();
    assert!(err.contains("unknown variable $who"), "{err}");

    let text = "name = \"x\"\nprotocol = \"socket.io\"\n";
    let err = Profile::parse(text, "my.toml").unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("socket.io"), "{err}");

    let text =
        "name = \"x\"\nprotocol = \"websocket\"\n[[rules]]\nevent = \"e\"\nkind = \"report\"\npriority = \"urgent\"\n";
    let err = Profile::parse(text, "my.toml").unwrap_err().to_string();
    assert!(err.contains("line 6") && err.contains("priority"), "{err}");
}

#[test]
fn variables_are_checked() {
    let profile = Profile::load("service-calls").unwrap();
    let set = BTreeMap::from([("usr".to_string(), "x".to_string())]);
    let err = profile.resolve_variables(&set).unwrap_err().to_string();
    assert!(
        err.contains("no variable \"usr\"") && err.contains("user_id"),
        "{err}"
    );
    let err = Profile::load("no-such-profile").unwrap_err().to_string();
    assert!(err.contains("built-in: demo, emergency-dispatch"), "{err}");
}

#[test]
fn rest_paths_must_start_with_a_slash() {
    let base = "name = \"x\"\nprotocol = \"websocket\"\n[variables.api_base]\ndefault = \"/api\"\n";
    let rule = "[[rules]]\nevent = \"e\"\nkind = \"report\"\n";
    for (part, key) in [
        (
            "[auth.login]\npath = \"@other.example/login\"\ntoken = \"t\"\n",
            "auth.login.path",
        ),
        (
            "[[backfill]]\npath = \"other.example/x\"\nevent = \"e\"\n",
            "backfill[0].path",
        ),
        ("[acknowledge]\npath = \"{{id}}/ack\"\n", "acknowledge.path"),
        (
            "[[responses]]\nname = \"r\"\nlabel = \"R\"\npath = \"{{$api_base}}x\"\n",
            "responses[0].path",
        ),
    ] {
        let text = format!("{base}{part}{rule}");
        let err = Profile::parse(&text, "my.toml").unwrap_err().to_string();
        assert!(
            err.contains(key) && err.contains("must start with /"),
            "{key}: {err}"
        );
    }
    for (fetch, key) in [
        ("{ get = \"//other.example/{{id}}\" }", "rules[0].fetch.get"),
        ("{ list = \"{{$api_base}}\" }", "rules[0].fetch.list"),
    ] {
        let text = format!("{base}{rule}fetch = {fetch}\n");
        let err = Profile::parse(&text, "my.toml").unwrap_err().to_string();
        assert!(
            err.contains(key) && err.contains("must start with /"),
            "{key}: {err}"
        );
    }
    let text = format!("{base}{rule}fetch = {{ get = \"{{{{$api_base}}}}/t/{{{{id}}}}\" }}\n");
    Profile::parse(&text, "my.toml").unwrap();
    // `$api_base` itself must be a path prefix, as a default and as a value given.
    let text = format!("{}{rule}", base.replace("\"/api\"", "\"api\""));
    let err = Profile::parse(&text, "my.toml").unwrap_err().to_string();
    assert!(err.contains("variables.api_base.default"), "{err}");
    let profile = Profile::load("ticketing").unwrap();
    for bad in ["http://other.example", "api", "/a/../b"] {
        let set = BTreeMap::from([("api_base".to_string(), bad.to_string())]);
        let err = profile.resolve_variables(&set).unwrap_err().to_string();
        assert!(err.contains("api_base"), "{bad}: {err}");
    }
    for good in ["", "/v2", "/api/v1"] {
        let set = BTreeMap::from([("api_base".to_string(), good.to_string())]);
        assert!(profile.resolve_variables(&set).is_ok(), "{good:?}");
    }
}

#[test]
fn messages_without_identity_get_unique_ids() {
    let a = classify(
        "ticketing",
        &[],
        "comment",
        json!({"type": "comment", "action": "create"}),
        None,
    )
    .unwrap();
    assert!(
        a.4.starts_with("ticketing:comment:") || a.4.starts_with("comment-"),
        "{}",
        a.4
    );
}

#[test]
fn never_untitled_while_the_payload_has_text() {
    // A seed 001 server whose calls carry their text in `issue` and the caller in `customerName`.
    let (_, _, title, _, id) = classify(
        "service-calls",
        &[],
        "call_created",
        json!({"_id": "c-9", "issue": "Radio console down", "customerName": "City Hall", "status": "pending"}),
        None,
    )
    .unwrap();
    assert_eq!(title, "New call: Radio console down");
    assert_eq!(id, "call-c-9");
    // None of the title's fields: the record's own short texts stand in, never "untitled".
    let (_, _, title, _, _) = classify(
        "service-calls",
        &[],
        "call_created",
        json!({"id": 7, "headline": "Printer on fire", "place": "Floor 2", "createdAt": "2026-11-30T10:00:00Z"}),
        None,
    )
    .unwrap();
    assert_eq!(title, "New call: Printer on fire · Floor 2");
    // Seed 002 reports with `details` and `type`, snake or camel case.
    let (_, _, title, _, _) = classify(
        "station-reports",
        &[],
        "new_report",
        json!({"type": "new_report", "report": {"_id": "r1", "type": "Theft", "details": "Bike stolen", "stationId": 4}}),
        None,
    )
    .unwrap();
    assert_eq!(title, "Theft: Bike stolen");
}

#[test]
fn an_event_without_an_id_is_not_an_alert() {
    let profile = Profile::load("station-reports").unwrap();
    let payload = json!({"event": "new_report", "data": null});
    let rule = rules::find(&profile.rules, "new_report", &payload)
        .unwrap()
        .rule;
    let err = rule
        .build(
            &profile.name,
            "new_report",
            payload,
            None,
            &vars(&profile, &[]),
        )
        .unwrap_err();
    assert!(err.to_string().contains("no id"), "{err}");
    // Unless the profile names a fallback id: ticketing's quiet updates each get their own.
    assert!(classify(
        "ticketing",
        &[],
        "comment",
        json!({"type": "comment", "action": "update"}),
        None
    )
    .is_some());
}

#[test]
fn the_summary_fills_the_title_when_none_of_its_fields_is_there() {
    // Ticketing's title falls back to "New ticket" only when the fetched record has nothing to say.
    let record = json!({"id": 3, "headline": "Core switch down", "site": "HQ"});
    let (_, _, title, _, _) = classify(
        "ticketing",
        &[],
        "ticket",
        json!({"type": "ticket", "action": "create", "id": 3}),
        Some(record),
    )
    .unwrap();
    assert_eq!(title, "Core switch down · HQ");
    let (_, _, title, _, _) = classify(
        "ticketing",
        &[],
        "ticket",
        json!({"type": "ticket", "action": "create", "id": 3}),
        Some(json!({"id": 3})),
    )
    .unwrap();
    assert_eq!(title, "New ticket");
}

#[test]
fn rules_state_only_what_their_event_knows() {
    let profile = Profile::load("emergency-dispatch").unwrap();
    let vars = vars(&profile, &[("user_id", "U-7")]);
    let build = |payload: Value| {
        let m = rules::find(&profile.rules, "emergency_updated", &payload).unwrap();
        m.rule
            .build(&profile.name, "emergency_updated", payload, None, &vars)
            .unwrap()
    };
    // Completed, naming neither owner nor priority, with no text: nothing but the status is stated.
    let done =
        build(json!({"action": "completed", "emergency": {"id": "E-1", "status": "completed"}}));
    assert_eq!(
        done.stated,
        crate::domain::Stated {
            title: false,
            body: false,
            priority: false,
            assigned_to_me: false
        }
    );
    assert_eq!(done.status.as_deref(), Some("completed"));
    // A whole record states everything; "nobody" (null) is an owner too.
    let whole = build(json!({"action": "completed", "emergency": {
        "id": "E-1", "status": "completed", "description": "Kitchen fire", "priority": "low", "unit_id": null,
        "updatedAt": "2026-11-30T08:00:00Z"}}));
    assert!(whole.stated.title && whole.stated.priority && whole.stated.assigned_to_me);
    assert!(!whole.fields.assigned_to_me);
    assert_eq!(
        whole.server_time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-30T08:00:00.000Z")
    );
    // Without `--set user_id` nobody is "me": the owner is not stated either way.
    let anyone = Profile::load("emergency-dispatch").unwrap();
    let payload = json!({"action": "assigned", "emergency": {"id": "E-1", "unit_id": "U-7"}});
    let m = rules::find(&anyone.rules, "emergency_updated", &payload).unwrap();
    let a = m
        .rule
        .build(
            &anyone.name,
            "emergency_updated",
            payload,
            None,
            &vars_of(&anyone),
        )
        .unwrap();
    assert!(!a.stated.assigned_to_me);
}

fn vars_of(profile: &Profile) -> BTreeMap<String, String> {
    vars(profile, &[])
}

#[test]
fn every_builtin_says_which_events_its_lists_miss() {
    let uncovered = |name: &str| Profile::load(name).unwrap().uncovered_events();
    assert_eq!(uncovered("emergency-dispatch"), ["unit_status_update"]);
    assert_eq!(uncovered("service-calls"), ["user_deleted"]);
    assert!(uncovered("station-reports").is_empty());
    assert!(uncovered("demo").is_empty());
    assert_eq!(
        uncovered("crowd-monitoring"),
        ["action:created", "insight:update", "prediction:update"]
    );
    assert_eq!(
        uncovered("ticketing"),
        ["comment", "time_entry", "shipment", "site", "attachment"]
    );
}

#[test]
fn a_change_that_names_no_record_asks_for_a_catch_up() {
    let profile = Profile::load("ticketing").unwrap();
    let vars = vars_of(&profile);
    let bare = json!({"type": "ticket", "action": "claimed"});
    let m = rules::find(&profile.rules, "ticket", &bare).unwrap();
    assert!(m.rule.catch_up && !m.rule.names_its_record(&bare, &vars));
    let named = json!({"type": "ticket", "action": "claimed", "id": 3});
    let m = rules::find(&profile.rules, "ticket", &named).unwrap();
    assert!(m.rule.names_its_record(&named, &vars));
}

#[test]
fn a_refresh_request_is_checked_when_the_profile_loads() {
    let base = "name = \"x\"\nprotocol = \"socketio\"\n[variables.api_base]\ndefault = \"/api\"\n[auth]\nmode = \"socketio\"\n";
    let login = "[auth.login]\npath = \"{{$api_base}}/login\"\ntoken = \"token\"\n";
    let rule = "[[rules]]\nevent = \"e\"\nkind = \"report\"\n";
    let good = format!(
        "{base}{login}refresh_token = \"refreshToken || refresh_token\"\nexpires_in = \"expiresIn\"\n\
         [auth.login.refresh]\npath = \"{{{{$api_base}}}}/refresh\"\nbody = {{ refreshToken = \"{{{{$refresh_token}}}}\" }}\n{rule}"
    );
    let profile = Profile::parse(&good, "my.toml").unwrap();
    let login = profile.auth.login.as_ref().unwrap();
    let refresh = login.refresh.as_ref().unwrap();
    assert_eq!(refresh.method, "POST");
    // What the refresh answer holds defaults to where the login answer holds it.
    let answer = login.refresh_answer().unwrap();
    assert_eq!(
        (answer.token, answer.refresh_token, answer.expires_in),
        (
            "token",
            Some("refreshToken || refresh_token"),
            Some("expiresIn")
        )
    );
    // The default body sends the refresh token as `refresh_token`.
    let default_body = good.replace("body = { refreshToken = \"{{$refresh_token}}\" }\n", "");
    let profile = Profile::parse(&default_body, "my.toml").unwrap();
    let body = &profile.auth.login.unwrap().refresh.unwrap().body;
    assert_eq!(
        body.to_string(),
        "{ refresh_token = \"{{$refresh_token}}\" }"
    );

    for (text, says) in [
        (
            good.replace("refresh_token = \"refreshToken || refresh_token\"\n", ""),
            "auth.login.refresh needs auth.login.refresh_token",
        ),
        (
            good.replace(
                "path = \"{{$api_base}}/refresh\"",
                "path = \"//elsewhere/refresh\"",
            ),
            "auth.login.refresh.path",
        ),
        (
            good.replace(
                "[auth.login.refresh]\n",
                "[auth.login.refresh]\nmethod = \"GET\"\n",
            ),
            "auth.login.refresh.method",
        ),
        (
            good.replace("{{$refresh_token}}", "{{$refresh}}"),
            "unknown variable $refresh",
        ),
        (
            good.replace("{{$refresh_token}}", "fixed"),
            "must send the refresh token",
        ),
        (
            good.replace("expires_in = \"expiresIn\"", "expires_in = \"a..b\""),
            "auth.login.expires_in",
        ),
        (
            good.replace(
                "[auth.login.refresh]\n",
                "[auth.login.refresh]\ntokn = \"t\"\n",
            ),
            "unknown field `tokn`",
        ),
    ] {
        let err = Profile::parse(&text, "my.toml").unwrap_err().to_string();
        assert!(err.contains(says), "{says}: {err}");
    }
}

#[test]
fn an_override_adds_a_refresh_request_to_a_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crowd-refresh.toml");
    std::fs::write(
        &path,
        "extends = \"crowd-monitoring\"\n[auth.login]\nrefresh_token = \"refreshToken\"\n\
         [auth.login.refresh]\npath = \"{{$api_base}}/auth/refresh\"\nbody = { refreshToken = \"{{$refresh_token}}\" }\n",
    )
    .unwrap();
    let profile = Profile::load(&path.to_string_lossy()).unwrap();
    let login = profile.auth.login.unwrap();
    assert_eq!(
        login.token, "token || access_token",
        "the base's login stays"
    );
    assert_eq!(login.refresh_token.as_deref(), Some("refreshToken"));
    assert!(login.refresh.is_some());
}
