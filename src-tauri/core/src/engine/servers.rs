//! The signed-in servers, kept in `servers.toml` in the config directory (never a token: those are in the OS
//! keyring under the entry's [`account`](crate::link::auth::account)).
//!
//! ```toml
//! [[server]]
//! profile = "station-reports"          # a built-in profile, or the path of an imported one
//! url = "http://10.0.4.2:8080"
//! label = "Station 4"
//! vars = { station_id = "4" }
//! ca_file = "/usr/local/share/ca-certificates/department.crt"   # optional: the server's own CA
//! username = "officer"
//! ```
//!
//! The department's servers are listed the same way in `servers.toml` of a system directory ([`load_system`]):
//! they appear beside the user's, each user signs in to them, and no user can remove them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file name under the config directory.
pub const FILE_NAME: &str = "servers.toml";

/// One saved server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    /// A built-in profile's name or a profile file's path.
    pub profile: String,
    /// The server's URL.
    pub url: String,
    /// What the user calls it.
    #[serde(default)]
    pub label: String,
    /// Profile variables as entered at sign-in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// The username last signed in with (to sign in again with the password only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The built-in demo backend: started again on this URL's port at every start, and signed in anew.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// A certificate authority file (PEM) trusted for this server besides the system's and `[network]
    /// ca_files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: Vec<ServerEntry>,
}

/// Reads the saved servers; a missing file is an empty list. A file that does not parse is moved aside (so
/// the next save does not destroy what the user had) and reported.
pub fn load(path: &Path) -> (Vec<ServerEntry>, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), None),
        Err(e) => {
            return (
                Vec::new(),
                Some(format!("cannot read {}: {e}", path.display())),
            )
        }
    };
    match toml::from_str::<File>(&text) {
        Ok(file) => (file.server, None),
        Err(e) => {
            let aside = aside_path(path);
            let kept = std::fs::rename(path, &aside).map_or_else(
                |e| format!("it could not be moved aside ({e})"),
                |()| format!("it was kept as {}", aside.display()),
            );
            let message = format!("{} is not valid ({}); {kept}", path.display(), e.message());
            (Vec::new(), Some(message))
        }
    }
}

/// Reads the saved servers without side effects: anything unreadable is an empty list ([`load`] reports it).
pub fn peek(path: &Path) -> Vec<ServerEntry> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| toml::from_str::<File>(&text).ok())
        .map(|file| file.server)
        .unwrap_or_default()
}

/// The department's servers: `servers.toml` in each of `dirs` (most important first), read as they are (never
/// moved aside or written). A server listed twice counts once (the more important file's). A profile named
/// by a bare name that is not built in is the department's: `profiles/NAME.toml` in the first system directory
/// that has it; a relative path is taken from the file's directory. Each file that cannot be read is one
/// message in the second list, naming it.
pub fn load_system(dirs: &[PathBuf]) -> (Vec<ServerEntry>, Vec<String>) {
    let (mut servers, mut problems) = (Vec::<ServerEntry>::new(), Vec::new());
    for dir in dirs {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", path.display()));
                continue;
            }
        };
        match toml::from_str::<File>(&text) {
            Ok(file) => {
                for mut entry in file.server {
                    entry.profile = department_profile(&entry.profile, dir, dirs);
                    entry.demo = false;
                    if !servers.iter().any(|s| s.url == entry.url) {
                        servers.push(entry);
                    }
                }
            }
            Err(e) => problems.push(format!(
                "{} is not valid ({})",
                path.display(),
                crate::config::settings::describe_toml_error(&text, &e)
            )),
        }
    }
    (servers, problems)
}

/// Where a department server's profile is: a built-in name as it is; a bare name in a system `profiles/`; a
/// relative path from `dir`.
fn department_profile(name: &str, dir: &Path, dirs: &[PathBuf]) -> String {
    if crate::profile::builtin_source(name).is_some() {
        return name.to_string();
    }
    if !name.contains('/') {
        let file = format!("{}.toml", name.trim_end_matches(".toml"));
        if let Some(found) = dirs
            .iter()
            .map(|d| d.join(PROFILES_DIR).join(&file))
            .find(|p| p.is_file())
        {
            return found.to_string_lossy().into_owned();
        }
        return name.to_string();
    }
    let path = Path::new(name);
    if path.is_absolute() {
        name.to_string()
    } else {
        dir.join(path).to_string_lossy().into_owned()
    }
}

/// The directory of profiles, under the user's config directory (imported) and under each system directory
/// (the department's).
pub const PROFILES_DIR: &str = "profiles";

fn aside_path(path: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    path.with_extension(format!("toml.broken-{stamp}"))
}

/// Writes the list atomically (a temporary file renamed over the old one), readable by the user only.
pub fn save(path: &Path, servers: &[ServerEntry]) -> std::io::Result<()> {
    let file = File {
        server: servers.to_vec(),
    };
    let text = toml::to_string_pretty(&file).map_err(std::io::Error::other)?;
    let text = format!(
        "# Servers Alertdesk signs in to. Written by the app; tokens are in the OS keyring, never here.\n\n{text}"
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("toml.tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str) -> ServerEntry {
        ServerEntry {
            profile: "station-reports".into(),
            url: url.into(),
            label: "Station 4".into(),
            vars: BTreeMap::from([("station_id".into(), "4".into())]),
            username: Some("officer".into()),
            demo: false,
            ca_file: None,
        }
    }

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(load(&path), (Vec::new(), None));
        let mut own_ca = entry("https://127.0.0.1:2");
        own_ca.ca_file = Some(PathBuf::from("/etc/alertdesk/department-ca.pem"));
        let servers = vec![entry("http://127.0.0.1:1"), own_ca];
        save(&path, &servers).unwrap();
        assert_eq!(load(&path), (servers, None));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "servers.toml must be private");
        }
    }

    #[test]
    fn department_servers_are_read_as_they_are_and_name_their_profiles() {
        let root = tempfile::tempdir().unwrap();
        let (first, second) = (root.path().join("first"), root.path().join("second"));
        std::fs::create_dir_all(second.join("profiles")).unwrap();
        std::fs::create_dir_all(&first).unwrap();
        std::fs::write(second.join("profiles/county.toml"), "name = \"county\"").unwrap();
        std::fs::write(
            first.join(FILE_NAME),
            "[[server]]\nprofile = \"county\"\nurl = \"https://dispatch.example\"\nlabel = \"County\"\n\n\
             [[server]]\nprofile = \"station-reports\"\nurl = \"http://10.0.4.2:8080\"\n",
        )
        .unwrap();
        std::fs::write(
            second.join(FILE_NAME),
            "[[server]]\nprofile = \"profiles/county.toml\"\nurl = \"https://dispatch.example\"\n\n\
             [[server]]\nprofile = \"/opt/p.toml\"\nurl = \"https://other.example\"\ndemo = true\n",
        )
        .unwrap();
        let (servers, problems) = load_system(&[first.clone(), second.clone()]);
        assert!(problems.is_empty(), "{problems:?}");
        let county = second
            .join("profiles/county.toml")
            .to_string_lossy()
            .into_owned();
        let found: Vec<(&str, &str, &str, bool)> = servers
            .iter()
            .map(|s| (s.url.as_str(), s.profile.as_str(), s.label.as_str(), s.demo))
            .collect();
        assert_eq!(
            found,
            [
                ("https://dispatch.example", county.as_str(), "County", false),
                ("http://10.0.4.2:8080", "station-reports", "", false),
                ("https://other.example", "/opt/p.toml", "", false),
            ]
        );

        // A broken file is named and left where it is; the others still count.
        std::fs::write(first.join(FILE_NAME), "[[server]]\nprofile = 4\n").unwrap();
        let (servers, problems) = load_system(&[first.clone(), second]);
        assert_eq!(servers.len(), 2);
        assert!(
            problems.len() == 1
                && problems[0].contains(&first.join(FILE_NAME).display().to_string()),
            "{problems:?}"
        );
        assert!(first.join(FILE_NAME).exists());
    }

    #[test]
    fn a_broken_file_is_kept_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "[[server]]\nprofile = 4\n").unwrap();
        let (servers, error) = load(&path);
        assert!(servers.is_empty());
        let error = error.unwrap();
        assert!(error.contains("kept as"), "{error}");
        assert!(!path.exists());
        let kept: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(kept.len(), 1);
    }
}
