//! Changing one setting: kept comments, atomic private writes, refusals.

use std::path::Path;

use super::{change, parse_value, SettingsError, SettingsErrorKind};
use crate::config::layers::Effective;
use crate::config::paths::Paths;
use crate::config::settings::{Settings, Theme};

/// A data directory with a department directory holding `system` (when given).
fn setup(system: Option<&str>) -> (tempfile::TempDir, Paths) {
    let root = tempfile::tempdir().unwrap();
    let department = root.path().join("department");
    std::fs::create_dir_all(&department).unwrap();
    if let Some(text) = system {
        std::fs::write(department.join("settings.toml"), text).unwrap();
    }
    let paths = Paths {
        system_dirs: vec![department],
        ..Paths::under(&root.path().join("data"))
    };
    (root, paths)
}

/// The value `change` takes for `text`.
#[allow(clippy::unnecessary_wraps)]
fn value(key: &str, text: &str) -> Option<toml_edit::Value> {
    Some(parse_value(key, text).unwrap())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_change_keeps_the_rest_of_the_file_and_is_private() {
    let (_root, paths) = setup(None);
    std::fs::create_dir_all(&paths.config_dir).unwrap();
    let before = "# Night shift at station 4.\n[alerting]\nvolume = 50 # loud enough\nrepeat_every_secs = 20\n\n\
                  [window]\ngpu = false\n";
    std::fs::write(paths.settings_file(), before).unwrap();
    let effective = change(&paths, "alerting.volume", value("alerting.volume", "65")).unwrap();
    assert_eq!(effective.settings.alerting.volume, 65);
    assert_eq!(
        read(&paths.settings_file()),
        before.replace("volume = 50", "volume = 65")
    );

    change(
        &paths,
        "alerting.tones.low",
        value("alerting.tones.low", "none"),
    )
    .unwrap();
    change(&paths, "window.theme", value("window.theme", "dark")).unwrap();
    let text = read(&paths.settings_file());
    assert!(
        text.contains("[alerting.tones]\nlow = \"none\"\n"),
        "{text}"
    );
    assert!(text.contains("gpu = false\ntheme = \"dark\"\n"), "{text}");
    assert!(text.starts_with("# Night shift at station 4.\n"), "{text}");
    let settings = Settings::load(&paths.settings_file()).unwrap();
    assert_eq!(settings.window.theme, Theme::Dark);
    assert!(!settings.window.gpu);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(paths.settings_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!paths.config_dir.join("settings.toml.tmp").exists());
}

#[test]
fn the_first_change_creates_the_file_and_unset_removes_a_key() {
    let (_root, paths) = setup(Some(
        "[alerting]\nquiet_hours = { from = \"23:00\", to = \"05:00\" }\n",
    ));
    let quiet = "{ from = \"22:00\", to = \"06:00\" }";
    let effective = change(
        &paths,
        "alerting.quiet_hours",
        value("alerting.quiet_hours", quiet),
    )
    .unwrap();
    assert_eq!(
        effective.settings.alerting.quiet_hours.unwrap().from,
        "22:00"
    );
    assert_eq!(
        read(&paths.settings_file()),
        format!("[alerting]\nquiet_hours = {quiet}\n")
    );
    // Removed, the department's value applies again.
    let effective = change(&paths, "alerting.quiet_hours", None).unwrap();
    assert_eq!(
        effective.settings.alerting.quiet_hours.unwrap().from,
        "23:00"
    );
    assert_eq!(read(&paths.settings_file()), "[alerting]\n");
}

#[test]
fn a_locked_key_is_refused_and_nothing_is_written() {
    let (_root, paths) = setup(Some("locked = [\"alerting.quiet_hours\"]\n"));
    let err = change(
        &paths,
        "alerting.quiet_hours",
        value(
            "alerting.quiet_hours",
            "{ from = \"22:00\", to = \"06:00\" }",
        ),
    )
    .unwrap_err();
    assert!(matches!(err, SettingsError::Locked { .. }));
    let message = err.to_string();
    assert!(
        message.contains("alerting.quiet_hours is set by your department")
            && message.contains("department/settings.toml"),
        "{message}"
    );
    assert_eq!(err.view().kind, SettingsErrorKind::Locked);
    assert!(!paths.settings_file().exists());
    // Removing it is a change too.
    assert!(matches!(
        change(&paths, "alerting.quiet_hours", None),
        Err(SettingsError::Locked { .. })
    ));
}

#[test]
fn invalid_values_and_unknown_keys_are_refused() {
    let (_root, paths) = setup(None);
    for (key, text, needle) in [
        ("alerting.volume", "101", "alerting.volume is 101"),
        (
            "alerting.volume",
            "0",
            "add alerting.confirm_silence_critical = true",
        ),
        ("alerting.on_duty", "yes", "\"yes\" is not a value"),
        ("alerting.on_duty", "3", "alerting.on_duty: invalid type"),
        ("window.theme", "blue", "unknown variant `blue`"),
        (
            "alerting.quiet_hours",
            "{ from = \"22\", to = \"06:00\" }",
            "quiet_hours.from",
        ),
    ] {
        let err = parse_value(key, text)
            .and_then(|v| change(&paths, key, Some(v)))
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains(needle), "{key} = {text}: {message}");
        assert!(!message.contains("line "), "{message}");
    }
    let err = change(&paths, "alerting.volum", value("alerting.volume", "3")).unwrap_err();
    assert!(matches!(err, SettingsError::Unknown { .. }), "{err}");
    // A section is not a setting either.
    assert!(matches!(
        change(&paths, "alerting", None),
        Err(SettingsError::Unknown { .. })
    ));
    assert!(!paths.settings_file().exists());
}

#[test]
fn a_file_that_is_not_valid_now_is_left_alone() {
    let (_root, paths) = setup(None);
    std::fs::create_dir_all(&paths.config_dir).unwrap();
    let broken = "[alerting]\nvolum = 3\n";
    std::fs::write(paths.settings_file(), broken).unwrap();
    let err = change(
        &paths,
        "alerting.on_duty",
        value("alerting.on_duty", "false"),
    )
    .unwrap_err();
    assert!(matches!(err, SettingsError::FileInvalid { .. }), "{err}");
    assert!(err.to_string().contains("fix it first"), "{err}");
    assert_eq!(read(&paths.settings_file()), broken);
}

#[test]
fn text_settings_take_their_text_without_quotes() {
    assert_eq!(
        parse_value("log.level", "debug").unwrap().as_str(),
        Some("debug")
    );
    assert_eq!(
        parse_value("log.level", "\"warn\"").unwrap().as_str(),
        Some("warn")
    );
    assert_eq!(
        parse_value("alerting.volume", "40").unwrap().as_integer(),
        Some(40)
    );
    let list = parse_value("alerting.terminal_statuses", "[\"closed\", \"done\"]").unwrap();
    assert_eq!(list.as_array().map(toml_edit::Array::len), Some(2));
}

#[test]
fn what_a_change_returns_is_what_a_start_reads() {
    let (_root, paths) = setup(Some("[alerting]\nrepeat_every_secs = 15\n"));
    let changed = change(
        &paths,
        "alerting.speak_critical",
        value("alerting.speak_critical", "true"),
    )
    .unwrap();
    let loaded = Effective::load(&paths);
    assert_eq!(changed.settings, loaded.settings);
    assert!(loaded.settings.alerting.speak_critical);
    assert_eq!(loaded.settings.alerting.repeat_every_secs, 15);
}
