//! Changing one setting in the user's `settings.toml`, from the window's settings pane or
//! `alertdesk settings set`: checked, refused for a key the department locked, written atomically and private
//! to the user, with the rest of the file (comments, order, layout) as it was.
//!
//! The change is checked the way a start reads it: the user's file alone, then merged with the department's
//! ([`Effective::merge`]). Nothing is written unless both hold, and a file that is not valid now is left alone
//! (editing it could lose what the user meant).

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};
use toml_edit::{DocumentMut, Item, Value};
use ts_rs::TS;

use super::layers::{default_value, known_keys, Content, Effective, Files};
use super::paths::{create_private_dir, Paths};
use super::settings::OPTIONAL_KEYS;

/// What changing a setting can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// No such setting.
    #[error("{key} is not a setting (docs/settings.md lists them)")]
    Unknown {
        /// The key given.
        key: String,
    },
    /// The department locked it.
    #[error("{key} is set by your department (locked in {}) and cannot be changed here", file.display())]
    Locked {
        /// The key.
        key: String,
        /// The system file that locks it.
        file: PathBuf,
    },
    /// The value is not valid for the setting.
    #[error("{}", naming(key, message))]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The user's file is not valid now, so it is not edited.
    #[error("{} is not valid ({message}); fix it first, it is left as it is", path.display())]
    FileInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// What kind of failure, for the window's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SettingsErrorKind {
    /// No such setting.
    Unknown,
    /// Locked by the department.
    Locked,
    /// Not a valid value.
    Invalid,
    /// The settings file is not valid now.
    FileInvalid,
    /// Reading or writing the file failed.
    Io,
}

/// A [`SettingsError`] as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SettingsErrorView {
    /// What kind.
    pub kind: SettingsErrorKind,
    /// The sentence.
    pub message: String,
}

impl SettingsError {
    /// The error as `{kind, message}`.
    pub fn view(&self) -> SettingsErrorView {
        let kind = match self {
            Self::Unknown { .. } => SettingsErrorKind::Unknown,
            Self::Locked { .. } => SettingsErrorKind::Locked,
            Self::Invalid { .. } => SettingsErrorKind::Invalid,
            Self::FileInvalid { .. } => SettingsErrorKind::FileInvalid,
            Self::Io { .. } => SettingsErrorKind::Io,
        };
        SettingsErrorView {
            kind,
            message: self.to_string(),
        }
    }
}

impl Serialize for SettingsError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

/// Sets `key` to `value` in the user's file (`None` removes it: the department's value or the default applies
/// again), and returns the settings now in effect.
pub fn change(paths: &Paths, key: &str, value: Option<Value>) -> Result<Effective, SettingsError> {
    let key = key.trim();
    if !known_keys().iter().any(|k| k == key) {
        return Err(SettingsError::Unknown { key: key.into() });
    }
    let mut files = Files::read(paths, None);
    let now = Effective::merge(&files);
    if let Some(lock) = now.lock_on(key) {
        return Err(SettingsError::Locked {
            key: key.into(),
            file: lock.file.clone(),
        });
    }
    let file = files.user.path.clone();
    let text = match &files.user.content {
        Content::Missing => String::new(),
        Content::Text(text) => text.clone(),
        Content::Unreadable(message) => {
            return Err(SettingsError::FileInvalid {
                path: file,
                message: message.clone(),
            })
        }
    };
    if let Some(problem) = now.user_file_problem() {
        return Err(SettingsError::FileInvalid {
            path: file,
            message: problem.message.clone(),
        });
    }
    let mut doc: DocumentMut = text.parse().map_err(|e| SettingsError::FileInvalid {
        path: file.clone(),
        message: format!("{e}"),
    })?;
    edit(&mut doc, key, value);
    let new_text = doc.to_string();
    files.user.content = Content::Text(new_text.clone());
    let after = Effective::merge(&files);
    if let Some(problem) = after.user_file_problem() {
        return Err(SettingsError::Invalid {
            key: key.into(),
            message: without_position(&problem.message),
        });
    }
    create_private_dir(&paths.config_dir).map_err(|e| SettingsError::Io {
        path: paths.config_dir.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    write_private(&file, &new_text).map_err(|source| SettingsError::Io { path: file, source })?;
    tracing::info!(key, "setting changed");
    Ok(after)
}

/// `alertdesk settings set KEY VALUE`: `text` as the setting's type. A text setting takes the text as it is
/// (quotes are optional); others take a TOML value: `80`, `true`, `["closed", "done"]`,
/// `{ from = "22:00", to = "06:00" }`.
pub fn parse_value(key: &str, text: &str) -> Result<Value, SettingsError> {
    let text = text.trim();
    let parsed = text.parse::<Value>();
    if default_value(key).is_some_and(|v| v.is_str()) {
        return Ok(match parsed {
            Ok(value @ Value::String(_)) => value,
            _ => Value::from(text),
        });
    }
    parsed.map_err(|_| SettingsError::Invalid {
        key: key.into(),
        message: format!(
            "{text:?} is not a value: give a number, true or false, \"text\", a [list] or a {{ table }}"
        ),
    })
}

/// Sets (or removes) `key` in `doc`, creating the tables on the way; an existing value keeps its comments.
fn edit(doc: &mut DocumentMut, key: &str, value: Option<Value>) {
    let parts: Vec<&str> = key.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut at = doc.as_table_mut() as &mut dyn toml_edit::TableLike;
    for part in parents {
        let item = at.entry(part).or_insert_with(|| {
            let mut table = toml_edit::Table::new();
            // `[alerting.tones]` alone, without an empty `[alerting]` above it.
            table.set_implicit(true);
            Item::Table(table)
        });
        if item.as_table_like().is_none() {
            *item = Item::Table(toml_edit::Table::new());
        }
        let Some(next) = item.as_table_like_mut() else {
            return;
        };
        at = next;
    }
    match value {
        Some(mut value) => {
            if let Some(old) = at.get(last).and_then(Item::as_value) {
                *value.decor_mut() = old.decor().clone();
            } else if OPTIONAL_KEYS.contains(&key) {
                // An inline table on one line, as the documentation writes it.
                if let Value::InlineTable(table) = &mut value {
                    table.fmt();
                }
            }
            at.insert(last, Item::Value(value));
        }
        None => {
            at.remove(last);
        }
    }
}

/// `message`, led by `key` unless it names it already.
fn naming(key: &str, message: &str) -> String {
    if message.contains(key) {
        message.to_string()
    } else {
        format!("{key}: {message}")
    }
}

/// A message about the edited text without its line and column (the user never saw that text).
fn without_position(message: &str) -> String {
    match message.strip_prefix("line ") {
        Some(rest) => rest
            .split_once(": ")
            .map_or_else(|| message.to_string(), |(_, m)| m.to_string()),
        None => message.to_string(),
    }
}

/// Writes `text` to `path` atomically (a temporary file renamed over it), readable by the user only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("toml.tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, super::paths::PRIVATE_FILE_MODE);
        let mut file = options.open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A file the user had made readable to others becomes private with its first change.
        std::fs::set_permissions(
            path,
            std::fs::Permissions::from_mode(super::paths::PRIVATE_FILE_MODE),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
