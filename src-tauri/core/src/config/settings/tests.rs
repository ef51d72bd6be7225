//! Parsing and checking `settings.toml`, and the documented examples.

use chrono::NaiveTime;

use super::Settings;
use crate::domain::Priority;

#[test]
fn missing_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::load(&dir.path().join("settings.toml")).unwrap();
    assert_eq!(settings, Settings::default());
    assert!(settings.window.close_to_tray);
}

#[test]
fn file_overrides_only_what_it_lists() {
    let settings = Settings::parse("[log]\nlevel = \"debug\"\n").unwrap();
    assert_eq!(settings.log.level, "debug");
    assert_eq!(settings.log.keep_files, 5);
}

#[test]
fn log_section() {
    let defaults = Settings::default().log;
    assert_eq!(
        (
            defaults.max_file_mb,
            defaults.keep_files,
            defaults.repeat_warnings_secs
        ),
        (10, 5, 60)
    );
    assert_eq!(defaults.max_file_bytes(), 10 * 1024 * 1024);
    assert_eq!(defaults.repeat_warnings().as_secs(), 60);
    let settings =
        Settings::parse("[log]\nmax_file_mb = 1\nkeep_files = 100\nrepeat_warnings_secs = 1\n")
            .unwrap();
    assert_eq!(
        (
            settings.log.max_file_mb,
            settings.log.keep_files,
            settings.log.repeat_warnings_secs
        ),
        (1, 100, 1)
    );
    for (text, needle) in [
        ("max_file_mb = 0", "log.max_file_mb is 0"),
        ("max_file_mb = 1025", "log.max_file_mb is 1025"),
        ("keep_files = 0", "log.keep_files is 0"),
        ("keep_files = 101", "log.keep_files is 101"),
        ("repeat_warnings_secs = 0", "log.repeat_warnings_secs is 0"),
        (
            "repeat_warnings_secs = 86401",
            "log.repeat_warnings_secs is 86401",
        ),
    ] {
        let err = Settings::parse(&format!("[log]\n{text}\n")).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let err = Settings::parse("[log]\nmax_file_mb = -1\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn the_answer_cap_is_a_checked_setting() {
    assert_eq!(
        Settings::default().network.max_body_bytes(),
        8 * 1024 * 1024
    );
    let settings = Settings::parse("[network]\nmax_body_mib = 2\n").unwrap();
    assert_eq!(settings.network.max_body_bytes(), 2 * 1024 * 1024);
    for bad in ["0", "1025"] {
        let err = Settings::parse(&format!("[network]\nmax_body_mib = {bad}\n")).unwrap_err();
        assert!(err.contains("network.max_body_mib"), "{err}");
    }
}

#[test]
fn unknown_key_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, "[log]\nlevel = \"info\"\nlevle = \"debug\"\n").unwrap();
    let err = Settings::load(&path).unwrap_err().to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(err.contains("line 3, column 1"), "{err}");
    assert!(err.contains("levle"), "{err}");
}

#[test]
fn printed_settings_parse_back() {
    let settings = Settings::parse("[window]\nstart_hidden = true\n").unwrap();
    assert_eq!(
        Settings::parse(&super::to_toml(&settings)).unwrap(),
        settings
    );
}

#[test]
fn wrong_type_and_bad_value_are_errors() {
    assert_eq!(
        Settings::parse("[window]\ntheme = \"dark\"\n")
            .unwrap()
            .window
            .theme,
        super::Theme::Dark
    );
    assert!(Settings::parse("[window]\ntheme = \"blue\"\n").is_err());
    assert!(Settings::default().window.gpu);
    assert!(
        !Settings::parse("[window]\ngpu = false\n")
            .unwrap()
            .window
            .gpu
    );
    let err = Settings::parse("[window]\nstart_hidden = \"yes\"\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let err = Settings::parse("[log]\nkeep_files = 0\n").unwrap_err();
    assert!(err.contains("keep_files"), "{err}");
}

#[test]
fn history_section() {
    let defaults = Settings::default().history;
    assert_eq!((defaults.retention_days, defaults.max_alerts), (30, 50_000));
    assert_eq!(defaults.max_age().as_secs(), 30 * 86_400);

    let settings = Settings::parse("[history]\nretention_days = 7\n").unwrap();
    assert_eq!(settings.history.retention_days, 7);
    assert_eq!(settings.history.max_alerts, 50_000);

    for (text, key) in [
        ("[history]\nretention_days = 0\n", "retention_days"),
        ("[history]\nmax_alerts = 0\n", "max_alerts"),
    ] {
        let err = Settings::parse(text).unwrap_err();
        assert!(err.contains(key) && err.contains("at least 1"), "{err}");
    }
    let err = Settings::parse("[history]\nmax_alerts = -5\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let err = Settings::parse("[history]\nretention = 3\n").unwrap_err();
    assert!(
        err.contains("line 2, column 1") && err.contains("retention"),
        "{err}"
    );
    let err = Settings::parse("[history]\nretention_days = \"30\"\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn alerting_section_defaults_and_overrides() {
    let defaults = Settings::default().alerting;
    assert_eq!(
        (
            defaults.repeat_every_secs,
            defaults.escalate_after,
            defaults.coalesce_above,
            defaults.link_alarm_after_secs,
            defaults.volume,
        ),
        (30, 3, 5, 60, 80)
    );
    assert!(defaults.on_duty && !defaults.confirm_silence_critical);
    assert!(!defaults.speak_critical, "reading aloud is opt-in");
    assert!(
        Settings::parse("[alerting]\nspeak_critical = true\n")
            .unwrap()
            .alerting
            .speak_critical
    );
    assert_eq!(
        defaults.terminal_statuses,
        ["closed", "completed", "resolved"]
    );
    assert_eq!(defaults.tones.for_priority(Priority::Critical), "critical");
    assert_eq!(defaults.quiet_hours, None);

    let settings = Settings::parse(
        "[alerting]\nrepeat_every_secs = 10\nquiet_hours = { from = \"22:00\", to = \"06:00\" }\n\
         [alerting.tones]\nlow = \"chime-2\"\n",
    )
    .unwrap();
    let alerting = &settings.alerting;
    assert_eq!(alerting.repeat_every().as_secs(), 10);
    assert_eq!(alerting.escalate_after, 3);
    assert_eq!(alerting.tones.low, "chime-2");
    assert_eq!(alerting.tones.normal, "normal");
    let quiet = alerting.quiet_hours.as_ref().unwrap();
    let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    assert!(quiet.contains(at(23, 0)) && quiet.contains(at(3, 0)) && quiet.contains(at(22, 0)));
    assert!(!quiet.contains(at(6, 0)) && !quiet.contains(at(12, 0)));
    assert_eq!(
        Settings::parse(&super::to_toml(&settings)).unwrap(),
        settings
    );
}

#[test]
fn alerting_values_are_validated() {
    for (text, needle) in [
        (
            "repeat_every_secs = 4",
            "alerting.repeat_every_secs must be at least 5",
        ),
        (
            "escalate_after = 0",
            "alerting.escalate_after must be at least 1",
        ),
        (
            "coalesce_above = 0",
            "alerting.coalesce_above must be at least 1",
        ),
        ("flood_above = 0", "alerting.flood_above must be at least 1"),
        (
            "flood_window_secs = 0",
            "alerting.flood_window_secs must be at least 1",
        ),
        (
            "link_alarm_after_secs = 1",
            "alerting.link_alarm_after_secs",
        ),
        ("volume = 101", "alerting.volume is 101"),
        (
            "terminal_statuses = [\"closed\", \"\"]",
            "alerting.terminal_statuses",
        ),
        (
            "quiet_hours = { from = \"22\", to = \"06:00\" }",
            "alerting.quiet_hours.from",
        ),
        (
            "quiet_hours = { from = \"22:00\", to = \"6:00\" }",
            "alerting.quiet_hours.to",
        ),
        (
            "quiet_hours = { from = \"25:00\", to = \"06:00\" }",
            "alerting.quiet_hours.from",
        ),
        (
            "quiet_hours = { from = \"06:00\", to = \"06:00\" }",
            "the same time",
        ),
        ("tones = { high = \"../x\" }", "alerting.tones.high"),
    ] {
        let err = Settings::parse(&format!("[alerting]\n{text}\n")).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let err = Settings::parse("[alerting]\nvolume = 300\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let err = Settings::parse("[alerting]\nrepeat_every = 30\n").unwrap_err();
    assert!(
        err.contains("line 2, column 1") && err.contains("repeat_every"),
        "{err}"
    );
    let err = Settings::parse("[alerting.tones]\nurgent = \"x\"\n").unwrap_err();
    assert!(err.contains("urgent"), "{err}");
    let err = Settings::parse("[alerting]\nquiet_hours = { from = \"22:00\" }\n").unwrap_err();
    assert!(err.contains("to"), "{err}");
}

#[test]
fn silencing_critical_needs_confirmation() {
    let err = Settings::parse("[alerting]\nvolume = 0\n").unwrap_err();
    assert!(
        err.contains("alerting.volume = 0") && err.contains("alerting.confirm_silence_critical"),
        "{err}"
    );
    let err = Settings::parse("[alerting.tones]\ncritical = \"none\"\n").unwrap_err();
    assert!(
        err.contains("alerting.tones.critical") && err.contains("confirm_silence_critical"),
        "{err}"
    );
    // Other priorities may be silenced freely.
    let settings = Settings::parse("[alerting.tones]\nlow = \"none\"\n").unwrap();
    assert!(!settings.alerting.silences_critical());
    let settings = Settings::parse(
        "[alerting]\nvolume = 0\nconfirm_silence_critical = true\n[alerting.tones]\ncritical = \"none\"\n",
    )
    .unwrap();
    assert!(settings.alerting.silences_critical());
}

#[test]
fn updates_section() {
    let defaults = Settings::default().updates;
    assert!(defaults.enabled && defaults.endpoints.is_empty());
    assert_eq!(defaults.check_every().as_secs(), 6 * 3600);

    let settings = Settings::parse(
        "[updates]\nendpoints = [\"https://updates.example.org/alertdesk/latest.json\", \
         \"http://127.0.0.1:8080/latest.json\"]\ncheck_every_hours = 1\n",
    )
    .unwrap();
    let urls = settings.updates.endpoint_urls().unwrap();
    assert_eq!(urls[0].host_str(), Some("updates.example.org"));
    assert_eq!(urls[1].port(), Some(8080));
    assert_eq!(settings.updates.check_every().as_secs(), 3600);
    assert_eq!(
        Settings::parse(&super::to_toml(&settings)).unwrap(),
        settings
    );

    for (text, needle) in [
        (
            "check_every_hours = 0",
            "updates.check_every_hours must be at least 1",
        ),
        ("endpoints = [\"not a url\"]", "is not a URL"),
        (
            "endpoints = [\"http://updates.example.org/latest.json\"]",
            "must be an https:// URL",
        ),
        (
            "endpoints = [\"ftp://127.0.0.1/latest.json\"]",
            "must be an https:// URL",
        ),
    ] {
        let err = Settings::parse(&format!("[updates]\n{text}\n")).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
    }
    for loopback in ["http://localhost:1/x", "http://[::1]:1/x"] {
        let text = format!("[updates]\nendpoints = [\"{loopback}\"]\n");
        Settings::parse(&text).unwrap_or_else(|e| panic!("{loopback}: {e}"));
    }
    // The signing key is not a setting: it would let whoever can write this file feed a forged build.
    let err = Settings::parse("[updates]\npubkey = \"x\"\n").unwrap_err();
    assert!(err.contains("pubkey") && err.contains("line 2"), "{err}");
}

#[test]
fn documented_examples_parse() {
    for doc in [
        include_str!("../../../../../docs/settings.md"),
        include_str!("../../../../../docs/alerting.md"),
        include_str!("../../../../../docs/desktop.md"),
    ] {
        let mut blocks = 0;
        for block in doc.split("```toml\n").skip(1) {
            let text = block.split("```").next().unwrap();
            if text.contains("\nlocked = ") {
                // A department's system file: checked as one.
                let files = super::super::layers::Files {
                    system: vec![super::super::layers::FileText {
                        path: "/etc/alertdesk/settings.toml".into(),
                        content: super::super::layers::Content::Text(text.to_string()),
                    }],
                    user: super::super::layers::FileText {
                        path: "settings.toml".into(),
                        content: super::super::layers::Content::Missing,
                    },
                };
                let effective = super::super::layers::Effective::merge(&files);
                assert!(
                    effective.problems.is_empty(),
                    "{:?}\n{text}",
                    effective.problems
                );
                assert!(!effective.locks.is_empty(), "{text}");
            } else {
                Settings::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            }
            blocks += 1;
        }
        assert!(blocks > 0);
    }
}

#[test]
fn network_trust_and_proxy_settings() {
    let defaults = Settings::default().network;
    assert!(
        defaults.ca_files.is_empty() && defaults.proxy.is_none() && defaults.client_cert.is_none()
    );
    let settings = Settings::parse(
        "[network]\nca_files = [\"/etc/alertdesk/department-ca.pem\"]\nclient_cert = \"/home/o/me.pem\"\n\
         client_key = \"/home/o/me.key\"\nproxy = \"http://ann@proxy.corp:3128\"\nno_proxy = [\"dispatch.corp\"]\n",
    )
    .unwrap();
    assert_eq!(
        settings.network.ca_files,
        [std::path::PathBuf::from("/etc/alertdesk/department-ca.pem")]
    );
    assert_eq!(
        settings.network.proxy.as_deref(),
        Some("http://ann@proxy.corp:3128")
    );
    assert_eq!(
        Settings::parse(&super::to_toml(&settings)).unwrap(),
        settings
    );
    for (text, needle) in [
        (
            "ca_files = [\"ca.pem\"]",
            "network.ca_files: ca.pem must be a full path",
        ),
        ("client_cert = \"/a.pem\"", "go together"),
        ("client_key = \"/a.key\"", "go together"),
        (
            "client_cert = \"a.pem\"\nclient_key = \"/a.key\"",
            "network.client_cert: a.pem",
        ),
        (
            "proxy = \"http://ann:pw@proxy.corp:3128\"",
            "does not belong in the settings file",
        ),
        (
            "proxy = \"socks5://proxy.corp:1080\"",
            "socks5:// proxies are not supported",
        ),
        (
            "no_proxy = [\"dispatch.corp\"]",
            "network.no_proxy is only for network.proxy",
        ),
    ] {
        let err = Settings::parse(&format!("[network]\n{text}\n")).unwrap_err();
        assert!(err.contains(needle), "{text}: {err}");
        assert!(!err.contains(":pw@"), "{err}");
    }
}
