//! Where a command's token comes from, when not from the OS keyring: never the command line, which every user
//! of the machine can read in `ps` (and which stays in the shell's history).
//!
//! - `--token -`: the first line of standard input (a prompt that does not echo, on a terminal);
//! - `--token-file PATH`: the first line of a file only its owner may read (like `ssh` with a private key, a file
//!   that group or others may read is refused);
//! - `ALERTDESK_TOKEN`: taken out of the environment first thing at start ([`crate::Secrets`]).
//!
//! `--token VALUE` is refused (exit 2) with a message pointing to these.

use std::fmt;
use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use alertdesk_core::domain::Token;
use clap::Args;

use super::usage_error;
use crate::Secrets;

/// The longest token file or standard input read, in bytes (a token is a line, not a document).
const MAX_READ: u64 = 64 * 1024;

/// What `--token` takes: this, meaning standard input.
pub(crate) const STDIN: &str = "-";

/// How to give a command a token other than the one in the OS keyring.
#[derive(Clone, Default, Args)]
pub struct TokenArgs {
    /// `--token -` reads the token from the first line of standard input. A token written here is refused:
    /// arguments show in `ps` (use --token-file, ALERTDESK_TOKEN, or `alertdesk login` for the keyring).
    #[arg(long, value_name = "-")]
    pub token: Option<String>,
    /// Read the token from the first line of PATH, a file only you may read (chmod 600).
    #[arg(long, value_name = "PATH", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
}

impl fmt::Debug for TokenArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = self
            .token
            .as_deref()
            .map(|t| if t == STDIN { STDIN } else { "***" });
        f.debug_struct("TokenArgs")
            .field("token", &token)
            .field("token_file", &self.token_file)
            .finish()
    }
}

/// Where the tokens may come from, for messages.
pub(crate) const TOKEN_WAYS: &str =
    "ALERTDESK_TOKEN, --token-file PATH or --token - (standard input)";

/// The token a command was given: `--token -`, `--token-file`, else `ALERTDESK_TOKEN`; `Ok(None)` to look
/// further (the keyring). A token on the command line, or one that cannot be read, is a usage error (said on
/// stderr; its exit code returned).
pub(crate) fn given_token(args: &TokenArgs, secrets: Secrets) -> Result<Option<Token>, ExitCode> {
    if let Some(flag) = &args.token {
        if flag != STDIN {
            return Err(usage_error(
                "--token does not take the token itself (it would show in `ps` and the shell history): use \
                 --token - to read it from standard input, --token-file PATH, the ALERTDESK_TOKEN environment \
                 variable, or `alertdesk login` to keep it in the OS keyring",
            ));
        }
        return read_stdin().map(Some).map_err(usage_error);
    }
    if let Some(path) = &args.token_file {
        return read_file(path).map(Some).map_err(usage_error);
    }
    Ok(secrets.token)
}

fn read_stdin() -> Result<Token, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let typed = rpassword::prompt_password("Token: ")
            .map_err(|e| format!("cannot read the token: {e}"))?;
        return first_line(&typed, "standard input");
    }
    let mut text = String::new();
    stdin
        .lock()
        .take(MAX_READ)
        .read_line(&mut text)
        .map_err(|e| format!("cannot read the token from standard input: {e}"))?;
    first_line(&text, "standard input")
}

fn read_file(path: &Path) -> Result<Token, String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    // Checked on the file opened, not on the name: nothing can be swapped in between.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|e| format!("cannot read {shown}: {e}"))?
            .permissions()
            .mode();
        let shared = mode & 0o077;
        if shared != 0 {
            return Err(format!(
                "{shown} may be read by others (mode {:o}): a token file must be private to you; run \
                 `chmod 600 {shown}`",
                mode & 0o777
            ));
        }
    }
    let mut text = String::new();
    std::io::BufReader::new(file)
        .take(MAX_READ)
        .read_line(&mut text)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    first_line(&text, &shown.to_string())
}

fn first_line(text: &str, source: &str) -> Result<Token, String> {
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err(format!(
            "no token in {source} (the token is its first line)"
        ));
    }
    Ok(Token::new(token))
}

#[cfg(test)]
mod tests {
    use super::{first_line, read_file, TokenArgs};

    #[test]
    fn a_token_never_shows_in_debug() {
        let args = TokenArgs {
            token: Some("s3cret-value".into()),
            token_file: None,
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        let stdin = TokenArgs {
            token: Some("-".into()),
            token_file: None,
        };
        assert!(format!("{stdin:?}").contains("\"-\""));
    }

    #[test]
    fn the_first_line_is_the_token() {
        assert_eq!(first_line("abc \r\nrest\n", "x").unwrap().expose(), "abc");
        let err = first_line("\nabc\n", "standard input").unwrap_err();
        assert!(err.contains("no token in standard input"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "tok-123\n").unwrap();
        for mode in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_file(&path).unwrap_err();
            assert!(
                err.contains("may be read by others") && err.contains("chmod 600"),
                "{mode:o}: {err}"
            );
            assert!(!err.contains("tok-123"), "{err}");
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(read_file(&path).unwrap().expose(), "tok-123");
        }
        let err = read_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
    }
}
