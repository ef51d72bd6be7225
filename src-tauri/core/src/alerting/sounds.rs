//! The notification tones, embedded in the binary and written to the data directory on first use, so the
//! notification server gets an absolute `sound-file` path in every kind of install (a dev build, the .deb, the
//! headless binary on a server).

use std::path::{Path, PathBuf};

use crate::domain::Priority;
use crate::{Error, Result};

/// The bundled tones by name (`src-tauri/core/sounds/`, rendered by its `make-tones` script).
pub const TONES: &[(&str, &[u8])] = &[
    ("low", include_bytes!("../../sounds/low.ogg")),
    ("normal", include_bytes!("../../sounds/normal.ogg")),
    ("high", include_bytes!("../../sounds/high.ogg")),
    ("critical", include_bytes!("../../sounds/critical.ogg")),
];

/// The freedesktop sound-theme name used as the `sound-name` fallback for each priority.
pub fn theme_name(priority: Priority) -> &'static str {
    match priority {
        Priority::Low | Priority::Normal => "message-new-instant",
        Priority::High => "dialog-warning",
        Priority::Critical => "alarm-clock-elapsed",
    }
}

/// The sound-theme fallback for a bundled tone name (the tones are named after priorities).
pub fn theme_name_for_tone(tone: &str) -> &'static str {
    match tone {
        "critical" => theme_name(Priority::Critical),
        "high" => theme_name(Priority::High),
        _ => theme_name(Priority::Normal),
    }
}

/// Writes the bundled tones into `dir` (when missing or different) and returns the directory.
pub fn extract(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.into(),
        source: e,
    })?;
    for (name, bytes) in TONES {
        let path = dir.join(format!("{name}.ogg"));
        if std::fs::read(&path).ok().as_deref() != Some(*bytes) {
            std::fs::write(&path, bytes).map_err(|e| Error::Io {
                path: path.clone(),
                source: e,
            })?;
        }
    }
    Ok(dir.to_path_buf())
}

/// The embedded bytes (Ogg Vorbis) of a bundled tone, if `name` is one.
pub fn tone_bytes(name: &str) -> Option<&'static [u8]> {
    TONES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The file of a bundled tone in an extracted directory, if `name` is one.
pub fn tone_file(dir: &Path, name: &str) -> Option<PathBuf> {
    TONES
        .iter()
        .any(|(n, _)| *n == name)
        .then(|| dir.join(format!("{name}.ogg")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_are_real_ogg_files_and_extract_once() {
        for (name, bytes) in TONES {
            assert!(bytes.starts_with(b"OggS"), "{name} is not an Ogg file");
            assert!(
                bytes.len() < 32 * 1024,
                "{name} is too large for a short tone"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let sounds = extract(&dir.path().join("sounds")).unwrap();
        let critical = tone_file(&sounds, "critical").unwrap();
        assert_eq!(std::fs::read(&critical).unwrap(), TONES[3].1);
        let modified = std::fs::metadata(&critical).unwrap().modified().unwrap();
        extract(&sounds).unwrap();
        assert_eq!(
            std::fs::metadata(&critical).unwrap().modified().unwrap(),
            modified,
            "rewritten needlessly"
        );
        assert!(tone_file(&sounds, "siren").is_none());
        assert_eq!(tone_bytes("high"), Some(TONES[2].1));
        assert_eq!(tone_bytes("siren"), None);
    }
}
