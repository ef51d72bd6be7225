//! Where Alertdesk keeps its files.
//!
//! By default the XDG base directories: settings in `$XDG_CONFIG_HOME/alertdesk`, history, window state and the
//! web view's own files in `$XDG_DATA_HOME/alertdesk`, logs in `$XDG_STATE_HOME/alertdesk/logs`. One override,
//! `--data-dir DIR` or `ALERTDESK_DATA_DIR=DIR`, moves all of them under `DIR` (`DIR/config`, `DIR/data`,
//! `DIR/logs`), which is how tests and portable installs keep everything in one place. Tokens are never stored in
//! any of these.
//!
//! No directory depends on the application id ([`crate::APP_ID`]), so changing it moves nothing. The one that
//! did, Tauri's default web view directory named after the old id, is moved into [`Paths::webview_dir`] once by
//! [`Paths::adopt_legacy_webview_dir`].
//!
//! The department's system-wide files (settings, servers and profiles every user of the machine gets) are read
//! from the [system directories](system_dirs): `alertdesk` under each `$XDG_CONFIG_DIRS` entry, then
//! `/etc/alertdesk`. They apply with `--data-dir` too: a department's locked settings hold for every data
//! directory.

use std::path::{Path, PathBuf};

use crate::{Error, Result, APP_NAME};

/// The environment variable that moves every directory under one root.
pub const DATA_DIR_ENV: &str = "ALERTDESK_DATA_DIR";

/// The application id of earlier versions (`app.alertdesk.desktop`), under which Tauri kept the web view's
/// files by default: `$XDG_DATA_HOME/app.alertdesk.desktop`.
pub const LEGACY_APP_ID: &str = "app.alertdesk.desktop";
/// The department's own directory, the least important of the system directories.
pub const SYSTEM_DIR: &str = "/etc/alertdesk";

/// The XDG base directory list that system directories come from (`/etc/xdg` when unset or empty).
pub const CONFIG_DIRS_ENV: &str = "XDG_CONFIG_DIRS";

/// The resolved directories of one run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Paths {
    /// Holds `settings.toml`.
    pub config_dir: PathBuf,
    /// Holds the alert history and the window state.
    pub data_dir: PathBuf,
    /// Holds the rotating log files.
    pub log_dir: PathBuf,
    /// The department's directories, most important first (see [`system_dirs`]); each may hold
    /// `settings.toml`, `servers.toml` and `profiles/`. Empty in [`Paths::under`], which tests use.
    pub system_dirs: Vec<PathBuf>,
}

impl Paths {
    /// Resolves the directories: `root` (from `--data-dir` or [`DATA_DIR_ENV`]) wins over the XDG defaults.
    /// The system directories come from [`CONFIG_DIRS_ENV`] either way.
    pub fn resolve(root: Option<&Path>) -> Result<Self> {
        let system_dirs = system_dirs(std::env::var_os(CONFIG_DIRS_ENV).as_deref());
        if let Some(root) = root {
            return Ok(Self {
                system_dirs,
                ..Self::under(root)
            });
        }
        let home_based = |dir: Option<PathBuf>| dir.map(|d| d.join(APP_NAME)).ok_or(Error::NoHome);
        Ok(Self {
            config_dir: home_based(dirs::config_dir())?,
            data_dir: home_based(dirs::data_dir())?,
            log_dir: home_based(dirs::state_dir().or_else(dirs::data_local_dir))?.join("logs"),
            system_dirs,
        })
    }

    /// Every directory under one root, and no system directories.
    pub fn under(root: &Path) -> Self {
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
            log_dir: root.join("logs"),
            system_dirs: Vec::new(),
        }
    }

    /// The settings file.
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }

    /// The alert history (see [`crate::store`]).
    pub fn history_file(&self) -> PathBuf {
        self.data_dir.join(crate::store::FILE_NAME)
    }

    /// The lock file that says which process owns the data directory (see [`super::lock`]).
    pub fn lock_file(&self) -> PathBuf {
        self.data_dir.join(super::lock::FILE_NAME)
    }

    /// The desktop app's web view files (WebKit's storage and caches): with the data, so that `--data-dir` moves
    /// them too and they do not follow the application id.
    pub fn webview_dir(&self) -> PathBuf {
        self.data_dir.join("webview")
    }

    /// Where earlier versions kept the web view's files (Tauri's default, named after [`LEGACY_APP_ID`]), for
    /// the default directories only: a `--data-dir` run never used it alone.
    pub fn legacy_webview_dir() -> Option<PathBuf> {
        dirs::data_local_dir().map(|d| d.join(LEGACY_APP_ID))
    }

    /// Moves the web view's files from `legacy` (see [`Self::legacy_webview_dir`]) to [`Self::webview_dir`], once:
    /// nothing happens when `legacy` is missing or the new directory exists already (both are kept then). The
    /// move is a rename, so it is whole or not at all; returns whether it moved anything.
    pub fn adopt_legacy_webview_dir(&self, legacy: &Path) -> Result<bool> {
        let target = self.webview_dir();
        if !legacy.is_dir() || target.exists() {
            return Ok(false);
        }
        create_private_dir(&self.data_dir)?;
        std::fs::rename(legacy, &target).map_err(|e| Error::io(legacy, e))?;
        #[cfg(unix)]
        make_private(&target, PRIVATE_DIR_MODE)?;
        Ok(true)
    }

    /// Creates the directories that do not exist yet, private to the user (0700), and makes private those that
    /// already exist with a looser mode (an older version, a copy, a umask): the history, settings and logs are
    /// nobody else's business. A directory whose mode cannot be changed (someone else's) is an error.
    pub fn create_all(&self) -> Result<()> {
        for dir in [&self.config_dir, &self.data_dir, &self.log_dir] {
            create_private_dir(dir)?;
        }
        Ok(())
    }
}

/// The department's directories, most important first: `alertdesk` under each absolute entry of
/// `config_dirs` (the value of `$XDG_CONFIG_DIRS`, whose first entry is the most important; `/etc/xdg` when it
/// is unset or empty), then [`SYSTEM_DIR`]. A directory listed twice counts once, where it first appears.
/// Relative entries are ignored, as the XDG specification says.
pub fn system_dirs(config_dirs: Option<&std::ffi::OsStr>) -> Vec<PathBuf> {
    let listed: Vec<PathBuf> = config_dirs
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .filter(|dir| dir.is_absolute())
        .collect();
    let bases = if listed.is_empty() {
        vec![PathBuf::from("/etc/xdg")]
    } else {
        listed
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in bases
        .into_iter()
        .map(|base| base.join(APP_NAME))
        .chain([PathBuf::from(SYSTEM_DIR)])
    {
        if !out.contains(&dir) {
            out.push(dir);
        }
    }
    out
}

/// The mode of Alertdesk's directories: the user only.
#[cfg(unix)]
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// The mode of the files Alertdesk creates for itself (logs, the lock file): the user only.
#[cfg(unix)]
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` private to the user (0700) when it is missing, and makes it private when it is looser.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
        builder.create(dir).map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(unix)]
    make_private(dir, PRIVATE_DIR_MODE)?;
    Ok(())
}

/// Takes away what group and others may do with `path` (leaving it `mode` at most); nothing changes when it is
/// private already. The error says what to do.
#[cfg(unix)]
pub fn make_private(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .permissions()
        .mode();
    // What group and others may do.
    let shared = current & 0o077;
    if shared == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        Error::io(
            path,
            std::io::Error::new(
                e.kind(),
                format!(
                    "others may read it (mode {:o}) and it cannot be made private: {e}; run `chmod {mode:o} {}`",
                    current & 0o777,
                    path.display()
                ),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::Paths;

    #[test]
    fn override_puts_everything_under_one_root() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(root.path())).unwrap();
        assert_eq!(paths.config_dir, root.path().join("config"));
        assert_eq!(paths.data_dir, root.path().join("data"));
        assert_eq!(paths.log_dir, root.path().join("logs"));
        assert_eq!(
            paths.settings_file(),
            root.path().join("config/settings.toml")
        );
        assert_eq!(paths.history_file(), root.path().join("data/history.db"));
    }

    #[test]
    fn system_dirs_follow_xdg_config_dirs_then_etc_alertdesk() {
        use std::ffi::OsStr;
        use std::path::PathBuf;

        use super::system_dirs;
        let dirs = |v: Option<&str>| system_dirs(v.map(OsStr::new));
        let default = [
            PathBuf::from("/etc/xdg/alertdesk"),
            PathBuf::from("/etc/alertdesk"),
        ];
        assert_eq!(dirs(None), default);
        assert_eq!(dirs(Some("")), default);
        assert_eq!(
            dirs(Some(
                "/opt/dept/xdg:relative/ignored:/etc/xdg:/opt/dept/xdg:/etc"
            )),
            [
                PathBuf::from("/opt/dept/xdg/alertdesk"),
                PathBuf::from("/etc/xdg/alertdesk"),
                // `/etc` in the list puts /etc/alertdesk there, once.
                PathBuf::from("/etc/alertdesk"),
            ]
        );
        assert_eq!(dirs(Some("only/relative")), default);
    }

    #[test]
    fn create_all_makes_private_directories() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::under(&root.path().join("nested"));
        paths.create_all().unwrap();
        for dir in [&paths.config_dir, &paths.data_dir, &paths.log_dir] {
            assert!(dir.is_dir(), "{} missing", dir.display());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o700, "{}", dir.display());
            }
        }
        // A second call on existing directories is fine.
        paths.create_all().unwrap();
    }

    #[test]
    fn the_legacy_webview_dir_is_adopted_once() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::under(&root.path().join("alertdesk"));
        let legacy = root.path().join(super::LEGACY_APP_ID);
        // Nothing to adopt: nothing happens, nothing is created.
        assert!(!paths.adopt_legacy_webview_dir(&legacy).unwrap());
        assert!(!paths.webview_dir().exists());

        std::fs::create_dir_all(legacy.join("localstorage")).unwrap();
        std::fs::write(legacy.join("localstorage/file.db"), b"kept").unwrap();
        assert!(paths.adopt_legacy_webview_dir(&legacy).unwrap());
        assert_eq!(
            std::fs::read(paths.webview_dir().join("localstorage/file.db")).unwrap(),
            b"kept"
        );
        assert!(!legacy.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(paths.webview_dir())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }

        // Once adopted, a legacy directory that shows up again (an older version started) is left alone.
        std::fs::create_dir_all(&legacy).unwrap();
        std::fs::write(legacy.join("newer"), b"old version").unwrap();
        assert!(!paths.adopt_legacy_webview_dir(&legacy).unwrap());
        assert!(legacy.join("newer").exists());
        assert!(!paths.webview_dir().join("newer").exists());
    }

    #[test]
    fn no_directory_is_named_after_the_application_id() {
        let paths = Paths::resolve(None).unwrap();
        for dir in [
            &paths.config_dir,
            &paths.data_dir,
            &paths.log_dir,
            &paths.webview_dir(),
        ] {
            let shown = dir.display().to_string();
            assert!(!shown.contains(crate::APP_ID), "{shown}");
            assert!(!shown.contains(super::LEGACY_APP_ID), "{shown}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn create_all_makes_existing_loose_directories_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::under(root.path());
        for (dir, mode) in [
            (&paths.config_dir, 0o755),
            (&paths.data_dir, 0o777),
            (&paths.log_dir, 0o750),
        ] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        paths.create_all().unwrap();
        for dir in [&paths.config_dir, &paths.data_dir, &paths.log_dir] {
            let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", dir.display());
        }
        // A stricter mode is left as it is.
        std::fs::set_permissions(&paths.data_dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        paths.create_all().unwrap();
        let mode = std::fs::metadata(&paths.data_dir)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o500);
    }
}
