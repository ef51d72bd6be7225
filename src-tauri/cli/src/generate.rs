//! Shell completions and manual pages of both binaries, generated from the one clap definition (what each
//! binary's help shows), laid out under a root as the package installs them. The `alertdesk-generate` tool
//! (built beside `alertdesk-cli`, not installed) writes them for `scripts/release`:
//!
//! - `usr/share/bash-completion/completions/alertdesk` and `.../alertdesk-cli`
//! - `usr/share/zsh/vendor-completions/_alertdesk` and `_alertdesk-cli`
//! - `usr/share/fish/vendor_completions.d/alertdesk.fish` and `alertdesk-cli.fish`
//! - `usr/share/man/man1/`: `alertdesk.1`, `alertdesk-cli.1` and one page per command and subcommand of each
//!   (`alertdesk-cli-listen.1`, `alertdesk-cli-profile-list.1`, ...), plain roff: the packaging compresses them.

use std::path::{Path, PathBuf};

use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::{Cli, DESKTOP_BIN, HEADLESS_BIN};

/// Where bash-completion looks for a command's completion (the file is named after the command).
pub const BASH_DIR: &str = "usr/share/bash-completion/completions";
/// Where zsh looks for completions shipped by packages (`_COMMAND`).
pub const ZSH_DIR: &str = "usr/share/zsh/vendor-completions";
/// Where fish looks for completions shipped by packages (`COMMAND.fish`).
pub const FISH_DIR: &str = "usr/share/fish/vendor_completions.d";
/// Section 1 of the manual.
pub const MAN_DIR: &str = "usr/share/man/man1";

/// Writes the completions and manual pages of both binaries under `root`; returns the files written.
pub fn generate(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for bin in [DESKTOP_BIN, HEADLESS_BIN] {
        for (shell, dir, file) in [
            (Shell::Bash, BASH_DIR, bin.to_string()),
            (Shell::Zsh, ZSH_DIR, format!("_{bin}")),
            (Shell::Fish, FISH_DIR, format!("{bin}.fish")),
        ] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::documented_as(bin), bin, &mut script);
            if shell == Shell::Bash {
                script = respell_bash_states(bin, &script);
            }
            written.push(write(&root.join(dir).join(file), &script)?);
        }
        let mut command = Cli::documented_as(bin).disable_help_subcommand(true);
        command.build();
        for (file, page) in pages(&command, bin)? {
            written.push(write(&root.join(MAN_DIR).join(file), &page)?);
        }
    }
    Ok(written)
}

/// clap_complete's bash script spells a hyphenated binary's state one way in its dispatch loop
/// (`alertdesk__cli__subcmd__listen`) and another in its case arms (`alertdesk__subcmd__cli__subcmd__listen`),
/// so nothing completes after a command of `alertdesk-cli` (clap-rs/clap#6421, open in clap_complete 4.6). The
/// arms are respelled the way the loop spells them.
fn respell_bash_states(bin: &str, script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace(&bin.replace('-', "__subcmd__"), &bin.replace('-', "__"))
        .into_bytes()
}

fn write(path: &Path, contents: &[u8]) -> std::io::Result<PathBuf> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)?;
    Ok(path.to_path_buf())
}

/// The manual pages of `command` (built) and of each visible subcommand, as (file name, roff), the top-level
/// page with the sections clap knows nothing of.
fn pages(command: &clap::Command, bin: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut pages = Vec::new();
    let mut pending = vec![command.clone()];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .cloned(),
        );
        let top = command.get_name() == bin;
        let man = Man::new(command)
            .source(format!("Alertdesk {}", alertdesk_core::VERSION))
            .manual("Alertdesk");
        let mut page = Vec::new();
        man.render(&mut page)?;
        let extra = if top {
            top_sections(bin)
        } else {
            see_also(bin)
        };
        extra.to_writer(&mut page)?;
        pages.push((man.get_filename(), page));
    }
    Ok(pages)
}

/// EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO of a binary's own page.
fn top_sections(bin: &str) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        ("0", "Success, and the end of listening on Ctrl-C or SIGTERM."),
        ("1", "A failure at run time (a file, the network, the OS keyring)."),
        ("2", "Bad usage or invalid input: a wrong argument, an invalid profile or settings file, no token stored for the server, another Alertdesk on the data directory."),
        ("3", "The server rejected the credentials: sign in again with login."),
        ("75", "A response waits in the outbox: it is sent when Alertdesk next reaches the server."),
    ] {
        roff.control("TP", []).text([bold(code)]).text([roman(meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in [
        ("ALERTDESK_DATA_DIR", "Keep settings, data and logs under this directory (as --data-dir)."),
        ("ALERTDESK_TOKEN", "A token to use instead of the one in the OS keyring; taken out of the environment at start."),
    ] {
        roff.control("TP", []).text([bold(name)]).text([roman(meaning)]);
    }
    roff.control("SH", ["FILES"]);
    for (name, meaning) in [
        (
            "~/.config/alertdesk/settings.toml",
            "Settings (alertdesk settings checks and prints them).",
        ),
        (
            "~/.config/alertdesk/servers.toml",
            "The servers signed in to from the desktop app (never a token).",
        ),
        (
            "~/.local/share/alertdesk/",
            "The alert history, window state and notification tones.",
        ),
        ("~/.local/state/alertdesk/logs/", "Rotating log files."),
        (
            "/usr/lib/systemd/user/alertdesk-listen.service",
            "The headless listener as a systemd user service.",
        ),
    ] {
        roff.control("TP", [])
            .text([bold(name)])
            .text([roman(meaning)]);
    }
    let other = if bin == DESKTOP_BIN {
        HEADLESS_BIN
    } else {
        DESKTOP_BIN
    };
    roff.control("SH", ["SEE ALSO"]).text([
        bold(other),
        roman("(1), "),
        bold("systemctl"),
        roman(
            "(1); the documentation in /usr/share/doc/alertdesk and the project's docs/ directory.",
        ),
    ]);
    roff
}

/// A subcommand's page points back to its binary's.
fn see_also(bin: &str) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SEE ALSO"])
        .text([bold(bin), roman("(1)")]);
    roff
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every visible command path of `command`, e.g. `["listen"]`, `["profile", "list"]`.
    fn command_paths(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            command_paths(sub, &path, out);
        }
    }

    #[test]
    fn every_command_gets_a_page_and_a_completion() {
        let root = tempfile::tempdir().unwrap();
        let written = generate(root.path()).unwrap();
        let man = root.path().join(MAN_DIR);
        for bin in [DESKTOP_BIN, HEADLESS_BIN] {
            let mut paths = Vec::new();
            command_paths(&Cli::documented_as(bin), &[], &mut paths);
            assert!(paths.len() > 10, "{paths:?}");
            assert!(!paths.iter().any(|p| p[0] == "help"), "{paths:?}");
            let top = std::fs::read_to_string(man.join(format!("{bin}.1"))).unwrap();
            assert!(
                top.contains(".SH \"EXIT STATUS\"") && top.contains(".SH FILES"),
                "{top}"
            );
            let bash = std::fs::read_to_string(root.path().join(BASH_DIR).join(bin)).unwrap();
            let zsh =
                std::fs::read_to_string(root.path().join(ZSH_DIR).join(format!("_{bin}"))).unwrap();
            let fish =
                std::fs::read_to_string(root.path().join(FISH_DIR).join(format!("{bin}.fish")))
                    .unwrap();
            for path in paths {
                let page = man.join(format!("{bin}-{}.1", path.join("-")));
                let text = std::fs::read_to_string(&page)
                    .unwrap_or_else(|e| panic!("{}: {e}", page.display()));
                // The synopsis names the command as typed (roff escapes each hyphen).
                let typed = format!("{bin} {}", path.join(" ")).replace('-', "\\-");
                assert!(text.contains(&format!("\\fB{typed}\\fR")), "{text}");
                let back = format!(".SH \"SEE ALSO\"\n\\fB{}\\fR(1)", bin.replace('-', "\\-"));
                assert!(text.contains(&back), "{text}");
                let name = path.last().unwrap();
                for script in [&bash, &zsh, &fish] {
                    assert!(script.contains(name.as_str()), "{name} missing");
                }
            }
            // Only the desktop app offers the desktop options before a command.
            let root_options = bash
                .lines()
                .find(|l| l.contains("opts=") && l.contains(" listen "))
                .expect("the top level's options");
            assert_eq!(
                root_options.contains("--set"),
                bin == DESKTOP_BIN,
                "{root_options}"
            );
        }
        // Each file once, and nothing else under the root.
        let unique: BTreeSet<_> = written.iter().collect();
        assert_eq!(unique.len(), written.len());
    }

    #[test]
    fn a_page_lists_its_commands_flags_and_the_desktop_options_only_for_the_desktop_app() {
        let root = tempfile::tempdir().unwrap();
        generate(root.path()).unwrap();
        let man = root.path().join(MAN_DIR);
        let listen = std::fs::read_to_string(man.join("alertdesk-cli-listen.1")).unwrap();
        for flag in [
            "\\-\\-profile",
            "\\-\\-server",
            "\\-\\-notify",
            "\\-\\-token\\-file",
        ] {
            assert!(listen.contains(flag), "{flag} missing:\n{listen}");
        }
        let desktop = std::fs::read_to_string(man.join("alertdesk.1")).unwrap();
        let headless = std::fs::read_to_string(man.join("alertdesk-cli.1")).unwrap();
        assert!(desktop.contains("\\-\\-set"), "{desktop}");
        assert!(!headless.contains("\\-\\-set"), "{headless}");
    }
}
