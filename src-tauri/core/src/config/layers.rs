//! The effective settings: the defaults, then the department's system files, then the user's `settings.toml`,
//! merged key by key, with where each value came from (see `docs/settings.md`, "Settings from the department").
//!
//! - The system files are `settings.toml` in each of [`Paths::system_dirs`], applied from the least important
//!   (`/etc/alertdesk`) to the most important (the first `$XDG_CONFIG_DIRS` entry); the user's file comes last
//!   and wins, except for locked keys.
//! - A system file may say `locked = ["alerting.quiet_hours", "updates"]`: a key (or every key of a section) the
//!   user cannot change. The user's value for a locked key is ignored ([`Effective::ignored`] says so, once per
//!   load), and changing it from the window or the command line is refused ([`super::edit`]).
//! - Every file is checked on its own as strictly as ever (unknown keys, types, values, with the file, line and
//!   column). A file that fails is left out and reported in [`Effective::problems`]; the others still apply, so
//!   a typo in one file neither silences alerts nor undoes the department's settings.
//! - Tables are merged key by key, except the settings in [`OPTIONAL_KEYS`] (set as a whole); a list replaces
//!   the list below it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::paths::Paths;
use super::settings::{describe_toml_error, Settings, OPTIONAL_KEYS};

/// The settings file's name, in the user's config directory and in each system directory.
pub const FILE_NAME: &str = "settings.toml";

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "file", rename_all = "lowercase")]
pub enum Source {
    /// Alertdesk's default.
    Default,
    /// A department's system file.
    System(PathBuf),
    /// The user's own file.
    User(PathBuf),
}

/// A key locked by a system file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// The key, or a section (locking every key in it), as written in `locked`.
    pub key: String,
    /// The most important system file that locks it.
    pub file: PathBuf,
}

/// A settings file that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// What is wrong, with the line and column where there is one.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

/// One settings file, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileText {
    /// The file.
    pub path: PathBuf,
    /// What it holds.
    pub content: Content,
}

/// What reading a settings file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// There is no such file.
    Missing,
    /// Its text.
    Text(String),
    /// It exists but cannot be read (a [`Problem`] of the merge, like a file that does not parse).
    Unreadable(String),
}

impl FileText {
    /// Reads `path`.
    pub fn read(path: PathBuf) -> Self {
        let content = match std::fs::read_to_string(&path) {
            Ok(text) => Content::Text(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Content::Missing,
            Err(e) => Content::Unreadable(format!("cannot read it: {e}")),
        };
        Self { path, content }
    }
}

/// The settings files of one run: the system ones, most important first, and the user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// `settings.toml` in each system directory, most important first.
    pub system: Vec<FileText>,
    /// The user's `settings.toml`.
    pub user: FileText,
}

impl Files {
    /// Reads the files of `paths`; the user's file is `user` when given (`alertdesk settings FILE`).
    pub fn read(paths: &Paths, user: Option<&Path>) -> Self {
        Self {
            system: paths
                .system_dirs
                .iter()
                .map(|dir| FileText::read(dir.join(FILE_NAME)))
                .collect(),
            user: FileText::read(user.map_or_else(|| paths.settings_file(), Path::to_path_buf)),
        }
    }
}

/// The settings in effect, where each came from, and what was left out.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The merged settings.
    pub settings: Settings,
    /// The merged settings as TOML (the values [`Effective::entries`] shows).
    table: toml::Table,
    /// Every setting's source (optional ones unset are [`Source::Default`]).
    sources: BTreeMap<String, Source>,
    /// The keys the department locked.
    pub locks: Vec<Lock>,
    /// The user's file.
    pub user_file: PathBuf,
    /// The files that were read (system ones most important first, then the user's), and whether each exists.
    pub files: Vec<(PathBuf, bool)>,
    /// Files left out (not valid), said in the window's banner, the log and by `alertdesk settings`.
    pub problems: Vec<Problem>,
    /// The user's values for locked keys, ignored: one sentence each, for the log.
    pub ignored: Vec<String>,
}

/// One setting in effect, for `alertdesk settings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The dotted key, e.g. `alerting.volume`.
    pub key: String,
    /// Its value (`None`: an optional setting not set).
    pub value: Option<toml::Value>,
    /// Where the value came from.
    #[serde(flatten)]
    pub source: Source,
    /// Locked by the department: the system file that locks it.
    pub locked: Option<PathBuf>,
}

/// A file's settings, checked.
struct Layer {
    table: toml::Table,
    locked: Vec<String>,
}

impl Effective {
    /// The effective settings of `paths` (see the [module docs](self)).
    pub fn load(paths: &Paths) -> Self {
        Self::merge(&Files::read(paths, None))
    }

    /// Merges `files` (see the [module docs](self)). Never fails: what is wrong is in [`Effective::problems`].
    pub fn merge(files: &Files) -> Self {
        let mut problems = Vec::new();
        let mut table = defaults_table();
        let mut sources: BTreeMap<String, Source> = known_keys()
            .into_iter()
            .map(|key| (key, Source::Default))
            .collect();
        let mut locks: Vec<Lock> = Vec::new();
        let mut ignored = Vec::new();
        for file in files.system.iter().rev() {
            let Some(layer) = check_file(file, true, &mut problems) else {
                continue;
            };
            for (key, value) in leaves(&layer.table) {
                // A key locked by a file read before stays as that file set it: the directories before it in
                // XDG_CONFIG_DIRS come from the user's environment and must not undo the department's lock.
                if let Some(lock) = locks.iter().find(|l| covers(&l.key, &key)) {
                    ignored.push(format!(
                        "{}: {key} is locked in {}; this file's value is ignored",
                        file.path.display(),
                        lock.file.display()
                    ));
                    continue;
                }
                set_key(&mut table, &key, value);
                sources.insert(key, Source::System(file.path.clone()));
            }
            for key in layer.locked {
                locks.retain(|l| l.key != key);
                locks.push(Lock {
                    key,
                    file: file.path.clone(),
                });
            }
        }
        let department = (table.clone(), sources.clone());
        let user = check_file(&files.user, false, &mut problems);
        for (key, value) in user.iter().flat_map(|layer| leaves(&layer.table)) {
            if let Some(lock) = locks.iter().find(|l| covers(&l.key, &key)) {
                ignored.push(format!(
                    "{}: {key} is set by your department (locked in {}); your value is ignored",
                    files.user.path.display(),
                    lock.file.display()
                ));
                continue;
            }
            set_key(&mut table, &key, value);
            sources.insert(key, Source::User(files.user.path.clone()));
        }
        let settings = match settings_of(&table) {
            Ok(settings) => settings,
            Err(message) => {
                // Each file is valid alone but not together: the user's file goes first, then the department's.
                problems.push(Problem {
                    file: files.user.path.clone(),
                    message: format!("together with the department's settings: {message}"),
                });
                ignored.clear();
                (table, sources) = department;
                settings_of(&table).unwrap_or_else(|message| {
                    problems.push(Problem {
                        file: files
                            .system
                            .first()
                            .map_or_else(PathBuf::new, |f| f.path.clone()),
                        message: format!(
                            "the department's files together are not valid ({message}); using the defaults"
                        ),
                    });
                    table = defaults_table();
                    sources = sources.keys().map(|k| (k.clone(), Source::Default)).collect();
                    Settings::default()
                })
            }
        };
        Self {
            settings,
            table,
            sources,
            locks,
            user_file: files.user.path.clone(),
            files: files
                .system
                .iter()
                .chain([&files.user])
                .map(|f| (f.path.clone(), f.content != Content::Missing))
                .collect(),
            problems,
            ignored,
        }
    }

    /// The lock on `key` (or on a section holding it), if the department locked it.
    pub fn lock_on(&self, key: &str) -> Option<&Lock> {
        self.locks.iter().find(|l| covers(&l.key, key))
    }

    /// Every setting in effect, by key.
    pub fn entries(&self) -> Vec<Entry> {
        self.sources
            .iter()
            .map(|(key, source)| Entry {
                key: key.clone(),
                value: get_key(&self.table, key).cloned(),
                source: source.clone(),
                locked: self.lock_on(key).map(|l| l.file.clone()),
            })
            .collect()
    }

    /// Where `key`'s value came from.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.sources.get(key)
    }

    /// The user's file was left out (not valid).
    pub fn user_file_problem(&self) -> Option<&Problem> {
        self.problems.iter().find(|p| p.file == self.user_file)
    }
}

/// Every setting's dotted key: those with defaults, and [`OPTIONAL_KEYS`].
pub fn known_keys() -> Vec<String> {
    let mut keys: Vec<String> = leaves(&defaults_table())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    keys.extend(OPTIONAL_KEYS.iter().map(|k| (*k).to_string()));
    keys.sort();
    keys.dedup();
    keys
}

/// The default value of `key` (`None` for an optional setting, or no such key).
pub fn default_value(key: &str) -> Option<toml::Value> {
    get_key(&defaults_table(), key).cloned()
}

/// Whether `pattern` (a key or a section) covers `key`.
fn covers(pattern: &str, key: &str) -> bool {
    key == pattern
        || key
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn defaults_table() -> toml::Table {
    toml::Table::try_from(Settings::default()).unwrap_or_default()
}

/// The settings a merged table holds, validated.
fn settings_of(table: &toml::Table) -> Result<Settings, String> {
    let settings: Settings = table.clone().try_into().map_err(|e| e.to_string())?;
    settings.validate()?;
    Ok(settings)
}

/// Checks one file (`None` when it does not exist or is not valid: then said in `problems`).
fn check_file(file: &FileText, system: bool, problems: &mut Vec<Problem>) -> Option<Layer> {
    let checked = match &file.content {
        Content::Missing => return None,
        Content::Text(text) => check_text(text, system),
        Content::Unreadable(message) => Err(message.clone()),
    };
    match checked {
        Ok(layer) => Some(layer),
        Err(message) => {
            problems.push(Problem {
                file: file.path.clone(),
                message,
            });
            None
        }
    }
}

/// Checks a file's text as strictly as a file alone: syntax, known keys, types and values (with the line and
/// column), and `locked`, which only a system file may have.
fn check_text(text: &str, system: bool) -> Result<Layer, String> {
    let mut root = toml::de::DeTable::parse(text).map_err(|e| describe_toml_error(text, &e))?;
    let locked_at = root
        .get_mut()
        .remove("locked")
        .map(|value| line_of(text, value.span().start));
    Settings::deserialize(toml::de::Deserializer::from(root))
        .map_err(|e| describe_toml_error(text, &e))?
        .validate()?;
    let mut table: toml::Table = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
    let locked = match (table.remove("locked"), locked_at) {
        (None, _) => Vec::new(),
        (Some(_), line) if !system => {
            return Err(format!(
                "line {}: `locked` belongs in the department's system files, not in yours",
                line.unwrap_or(1)
            ))
        }
        (Some(value), line) => {
            parse_locked(&value).map_err(|e| format!("line {}: {e}", line.unwrap_or(1)))?
        }
    };
    Ok(Layer { table, locked })
}

/// `locked = ["alerting.quiet_hours", "updates"]`: known keys or sections.
fn parse_locked(value: &toml::Value) -> Result<Vec<String>, String> {
    let shape = || {
        "locked must be a list of settings, like [\"alerting.quiet_hours\", \"updates\"]"
            .to_string()
    };
    let known = known_keys();
    let mut out = Vec::new();
    for item in value.as_array().ok_or_else(shape)? {
        let key = item.as_str().ok_or_else(shape)?.trim();
        if !known.iter().any(|k| covers(key, k)) {
            return Err(format!(
                "locked names {key:?}, which is not a setting or a section (see docs/settings.md)"
            ));
        }
        out.push(key.to_string());
    }
    Ok(out)
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Every setting a table sets, with its dotted key: tables are walked into, except [`OPTIONAL_KEYS`] (one value).
fn leaves(table: &toml::Table) -> Vec<(String, toml::Value)> {
    fn walk(table: &toml::Table, prefix: &str, out: &mut Vec<(String, toml::Value)>) {
        for (name, value) in table {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match value {
                toml::Value::Table(inner) if !OPTIONAL_KEYS.contains(&key.as_str()) => {
                    walk(inner, &key, out);
                }
                _ => out.push((key, value.clone())),
            }
        }
    }
    let mut out = Vec::new();
    walk(table, "", &mut out);
    out
}

fn get_key<'t>(table: &'t toml::Table, key: &str) -> Option<&'t toml::Value> {
    let (parents, last) = match key.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, key),
    };
    let mut at = table;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        at = at.get(part)?.as_table()?;
    }
    at.get(last)
}

fn set_key(table: &mut toml::Table, key: &str, value: toml::Value) {
    let (parents, last) = match key.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, key),
    };
    let mut at = table;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        let entry = at
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(inner) = entry else {
            return;
        };
        at = inner;
    }
    at.insert(last.to_string(), value);
}

/// The effective settings as text: one `key = value` line each, with its source as a comment (what
/// `alertdesk settings` prints; the lines are TOML, and parse back to the same settings).
pub fn to_text(effective: &Effective) -> String {
    let mut out = String::from(
        "# The settings in effect: the defaults, then the department's files, then yours (docs/settings.md).\n",
    );
    for (path, exists) in &effective.files {
        let whose = if *path == effective.user_file {
            "yours"
        } else {
            "the department's"
        };
        let state = if *exists { "" } else { ", not present" };
        let _ = writeln!(out, "# {whose}: {}{state}", path.display());
    }
    let entries = effective.entries();
    let lines: Vec<(String, String)> = entries
        .iter()
        .map(|entry| {
            let line = match &entry.value {
                Some(value) => format!("{} = {}", entry.key, one_line(value)),
                None => format!("# {} is not set", entry.key),
            };
            let source = match (&entry.locked, &entry.source) {
                (Some(lock), Source::Default) => {
                    format!("locked ({}), default value", lock.display())
                }
                (Some(lock), Source::System(file)) if file != lock => {
                    format!("locked ({}), value from {}", lock.display(), file.display())
                }
                (Some(lock), _) => format!("locked ({})", lock.display()),
                (None, Source::Default) => "default".to_string(),
                (None, Source::System(file)) => format!("system ({})", file.display()),
                (None, Source::User(file)) => format!("user ({})", file.display()),
            };
            (line, source)
        })
        .collect();
    let width = lines
        .iter()
        .map(|(l, _)| l.len())
        .max()
        .unwrap_or(0)
        .min(60);
    for (line, source) in lines {
        let _ = writeln!(out, "{line:width$}  # {source}");
    }
    out
}

/// A value on one line (inline tables and arrays included).
fn one_line(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(table) => {
            let parts: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{k} = {}", one_line(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        toml::Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(one_line).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
