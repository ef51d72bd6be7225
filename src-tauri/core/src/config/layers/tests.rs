//! The layering of the department's files and the user's: order, locks, sources, problems.

use std::path::PathBuf;

use super::{known_keys, to_text, Content, Effective, FileText, Files, Source};
use crate::config::paths::Paths;
use crate::config::settings::{Settings, Theme};

fn file(path: &str, text: Option<&str>) -> FileText {
    FileText {
        path: PathBuf::from(path),
        content: text.map_or(Content::Missing, |t| Content::Text(t.to_string())),
    }
}

/// Two system files (`first` the more important) and the user's.
fn files(first: Option<&str>, second: Option<&str>, user: Option<&str>) -> Files {
    Files {
        system: vec![
            file("/sys/first.toml", first),
            file("/sys/second.toml", second),
        ],
        user: file("/home/u/settings.toml", user),
    }
}

fn sys(name: &str) -> Source {
    Source::System(PathBuf::from(format!("/sys/{name}.toml")))
}

fn user() -> Source {
    Source::User(PathBuf::from("/home/u/settings.toml"))
}

#[test]
fn no_files_are_the_defaults() {
    let effective = Effective::merge(&files(None, None, None));
    assert_eq!(effective.settings, Settings::default());
    assert!(effective.problems.is_empty() && effective.ignored.is_empty());
    assert!(effective
        .entries()
        .iter()
        .all(|e| e.source == Source::Default));
    let keys: Vec<String> = effective.entries().into_iter().map(|e| e.key).collect();
    assert_eq!(keys, known_keys());
    assert!(keys.iter().any(|k| k == "alerting.quiet_hours"));
    assert!(keys.iter().any(|k| k == "alerting.tones.critical"));
}

#[test]
fn the_user_wins_over_the_department_and_the_more_important_system_file_over_the_other() {
    let effective = Effective::merge(&files(
        Some("[alerting]\nvolume = 60\n[window]\ntheme = \"dark\"\n"),
        Some("[alerting]\nvolume = 40\nrepeat_every_secs = 20\n[alerting.tones]\nlow = \"none\"\n"),
        Some("[alerting]\nvolume = 90\n"),
    ));
    let s = &effective.settings;
    assert_eq!(
        (
            s.alerting.volume,
            s.alerting.repeat_every_secs,
            s.window.theme
        ),
        (90, 20, Theme::Dark)
    );
    // Tables merge key by key: the second file's tone stays, the others keep their defaults.
    assert_eq!(
        (
            s.alerting.tones.low.as_str(),
            s.alerting.tones.high.as_str()
        ),
        ("none", "high")
    );
    assert_eq!(effective.source("alerting.volume"), Some(&user()));
    assert_eq!(
        effective.source("alerting.repeat_every_secs"),
        Some(&sys("second"))
    );
    assert_eq!(effective.source("window.theme"), Some(&sys("first")));
    assert_eq!(effective.source("alerting.tones.low"), Some(&sys("second")));
    assert_eq!(
        effective.source("alerting.tones.high"),
        Some(&Source::Default)
    );
}

#[test]
fn a_locked_key_keeps_the_department_value_and_says_once_that_the_user_one_is_ignored() {
    let effective = Effective::merge(&files(
        Some("locked = [\"alerting.quiet_hours\", \"updates\"]\n[alerting]\nquiet_hours = { from = \"23:00\", to = \"05:00\" }\n"),
        None,
        Some(
            "[alerting]\nquiet_hours = { from = \"20:00\", to = \"08:00\" }\nvolume = 50\n\
             [updates]\nenabled = false\n",
        ),
    ));
    let quiet = effective.settings.alerting.quiet_hours.as_ref().unwrap();
    assert_eq!((quiet.from.as_str(), quiet.to.as_str()), ("23:00", "05:00"));
    // A locked section locks its keys at their defaults too.
    assert!(effective.settings.updates.enabled);
    assert_eq!(effective.settings.alerting.volume, 50);
    assert_eq!(effective.ignored.len(), 2, "{:?}", effective.ignored);
    assert!(
        effective.ignored[0].contains("alerting.quiet_hours")
            && effective.ignored[0].contains("/sys/first.toml"),
        "{:?}",
        effective.ignored
    );
    assert!(effective.ignored[1].contains("updates.enabled"));
    assert_eq!(
        effective.lock_on("updates.check_every_hours").unwrap().file,
        PathBuf::from("/sys/first.toml")
    );
    assert!(effective.lock_on("alerting.volume").is_none());
    // "alerting.quiet" is not a prefix of a key's path: it locks nothing.
    assert!(effective.lock_on("alerting.quiet_hours_x").is_none());
    let text = to_text(&effective);
    assert!(
        text.contains("alerting.quiet_hours = { from = \"23:00\", to = \"05:00\" }")
            && text.contains("# locked (/sys/first.toml)"),
        "{text}"
    );
    assert!(text.contains("updates.enabled = true"), "{text}");
}

#[test]
fn locks_add_up_across_system_files_and_a_lock_without_a_value_locks_the_default() {
    let effective = Effective::merge(&files(
        Some("locked = [\"alerting.on_duty\"]\n"),
        Some("locked = [\"window.theme\"]\n[window]\ntheme = \"light\"\n"),
        Some("[alerting]\non_duty = false\n[window]\ntheme = \"dark\"\n"),
    ));
    assert!(effective.settings.alerting.on_duty, "the default, locked");
    assert_eq!(effective.settings.window.theme, Theme::Light);
    assert_eq!(effective.ignored.len(), 2);
    let text = to_text(&effective);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("alerting.on_duty = true").ends_with("# locked (/sys/first.toml), default value"),
        "{text}"
    );
    assert!(
        line("window.theme = \"light\"").ends_with("# locked (/sys/second.toml)"),
        "{text}"
    );
    assert!(
        line("alerting.volume = 80").ends_with("# default"),
        "{text}"
    );
}

#[test]
fn a_broken_system_file_is_named_and_left_out_while_the_others_apply() {
    let effective = Effective::merge(&files(
        Some("[alerting]\nvolume = 60\nvolum = 3\n"),
        Some("locked = [\"alerting.volume\"]\n[alerting]\nvolume = 70\n"),
        Some("[window]\ntheme = \"dark\"\n"),
    ));
    assert_eq!(effective.problems.len(), 1);
    let problem = effective.problems[0].to_string();
    assert!(
        problem.starts_with("/sys/first.toml: line 3, column 1") && problem.contains("volum"),
        "{problem}"
    );
    assert_eq!(effective.settings.alerting.volume, 70);
    assert_eq!(effective.settings.window.theme, Theme::Dark);
}

#[test]
fn bad_locks_are_errors_naming_the_line() {
    for (text, needle) in [
        (
            "\n\nlocked = [\"alerting.quiet\"]\n",
            "line 3: locked names \"alerting.quiet\"",
        ),
        (
            "locked = \"alerting.volume\"\n",
            "line 1: locked must be a list",
        ),
        ("locked = [3]\n", "locked must be a list"),
        (
            "locked = [\"alerting.quiet_hours.from\"]\n",
            "\"alerting.quiet_hours.from\", which is not a setting",
        ),
    ] {
        let effective = Effective::merge(&files(Some(text), None, None));
        let problem = effective
            .problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(problem.contains(needle), "{text}: {problem}");
    }
}

#[test]
fn the_user_may_not_lock_anything() {
    let effective = Effective::merge(&files(
        None,
        None,
        Some("[alerting]\nvolume = 30\n\nlocked = [\"alerting.volume\"]\n"),
    ));
    let problem = effective.user_file_problem().unwrap().message.clone();
    assert!(
        problem.contains("line 4") && problem.contains("`locked`"),
        "{problem}"
    );
    assert_eq!(
        effective.settings.alerting.volume, 80,
        "the whole file is left out"
    );
    assert!(effective.locks.is_empty());
}

#[test]
fn files_valid_alone_but_not_together_leave_out_the_user_one() {
    // The department allows silencing critical alerts; the user takes the confirmation back.
    let effective = Effective::merge(&files(
        Some("[alerting]\nvolume = 0\nconfirm_silence_critical = true\n"),
        None,
        Some("[alerting]\nconfirm_silence_critical = false\nspeak_critical = true\n"),
    ));
    let problem = effective.user_file_problem().unwrap().message.clone();
    assert!(
        problem.contains("together with the department's"),
        "{problem}"
    );
    assert_eq!(effective.settings.alerting.volume, 0);
    assert!(!effective.settings.alerting.speak_critical);
}

#[test]
fn an_unreadable_file_is_a_problem_too() {
    let mut all = files(None, None, None);
    all.system[1].content = Content::Unreadable("cannot read it: permission denied".into());
    let effective = Effective::merge(&all);
    assert_eq!(
        effective.problems[0].to_string(),
        "/sys/second.toml: cannot read it: permission denied"
    );
}

#[test]
fn the_printed_settings_parse_back_to_the_same_settings() {
    let effective = Effective::merge(&files(
        Some("[alerting]\nquiet_hours = { from = \"22:00\", to = \"06:00\" }\n"),
        None,
        Some("[updates]\nendpoints = [\"https://u.example/latest.json\"]\n[alerting.tones]\nlow = \"none\"\n"),
    ));
    let text = to_text(&effective);
    assert_eq!(
        Settings::parse(&text).unwrap(),
        effective.settings,
        "{text}"
    );
    let unset = to_text(&Effective::merge(&files(None, None, None)));
    assert!(
        unset.contains("# alerting.quiet_hours is not set"),
        "{unset}"
    );
    assert!(
        unset.contains("/home/u/settings.toml, not present"),
        "{unset}"
    );
}

#[test]
fn real_files_in_system_directories_are_read() {
    let root = tempfile::tempdir().unwrap();
    let department = root.path().join("xdg/alertdesk");
    std::fs::create_dir_all(&department).unwrap();
    std::fs::write(
        department.join("settings.toml"),
        "locked = [\"alerting.on_duty\"]\n[alerting]\non_duty = false\n",
    )
    .unwrap();
    let paths = Paths {
        system_dirs: vec![department.clone(), root.path().join("absent")],
        ..Paths::under(&root.path().join("data"))
    };
    let effective = Effective::load(&paths);
    assert!(!effective.settings.alerting.on_duty);
    assert_eq!(
        effective.lock_on("alerting.on_duty").unwrap().file,
        department.join("settings.toml")
    );
    assert_eq!(
        effective.files,
        [
            (department.join("settings.toml"), true),
            (root.path().join("absent/settings.toml"), false),
            (paths.settings_file(), false),
        ]
    );
}

#[test]
fn a_more_important_system_directory_cannot_undo_a_lock_made_before_it() {
    // `first` stands for an XDG_CONFIG_DIRS entry the user's environment can add; `second` for /etc/alertdesk.
    let effective = Effective::merge(&files(
        Some("[alerting]\non_duty = false\n[window]\ntheme = \"dark\"\n"),
        Some("locked = [\"alerting\"]\n[alerting]\non_duty = true\n"),
        None,
    ));
    assert!(effective.settings.alerting.on_duty, "the lock holds");
    assert_eq!(
        effective.settings.window.theme,
        Theme::Dark,
        "what is not locked applies"
    );
    assert_eq!(effective.ignored.len(), 1, "{:?}", effective.ignored);
    assert!(
        effective.ignored[0]
            .starts_with("/sys/first.toml: alerting.on_duty is locked in /sys/second.toml"),
        "{:?}",
        effective.ignored
    );
    assert!(effective.problems.is_empty());
}
