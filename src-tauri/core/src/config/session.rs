//! `[session]` in `settings.toml`: sign-ins that expire (see `docs/settings.md` and `docs/reliability.md`,
//! "Sessions that last the shift").

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[session]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// Renew a token that has a refresh token this many seconds before it expires (at least a fifth and at most
    /// half of its lifetime), 1 to 86400.
    pub renew_before_secs: u64,
    /// Warn this many seconds before a token that cannot be renewed expires ("Sign in again"), 0 to 86400.
    pub warn_before_secs: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            renew_before_secs: 300,
            warn_before_secs: 600,
        }
    }
}

impl SessionSettings {
    /// The settings as the session schedule takes them.
    pub fn timing(&self) -> crate::link::session::Timing {
        crate::link::session::Timing {
            renew_before: Duration::from_secs(self.renew_before_secs),
            warn_before: Duration::from_secs(self.warn_before_secs),
        }
    }

    /// Checks every value; the error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=86_400).contains(&self.renew_before_secs) {
            return Err(format!(
                "session.renew_before_secs is {}; it must be between 1 and 86400",
                self.renew_before_secs
            ));
        }
        if self.warn_before_secs > 86_400 {
            return Err(format!(
                "session.warn_before_secs is {}; it must be between 0 and 86400",
                self.warn_before_secs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::settings::Settings;

    #[test]
    fn session_section_defaults_overrides_and_limits() {
        let defaults = Settings::default().session;
        assert_eq!(
            (defaults.renew_before_secs, defaults.warn_before_secs),
            (300, 600)
        );
        let set =
            Settings::parse("[session]\nrenew_before_secs = 30\nwarn_before_secs = 0\n").unwrap();
        let timing = set.session.timing();
        assert_eq!(timing.renew_before.as_secs(), 30);
        assert_eq!(timing.warn_before.as_secs(), 0);
        for (text, key) in [
            ("renew_before_secs = 0", "session.renew_before_secs"),
            ("warn_before_secs = 86401", "session.warn_before_secs"),
            ("warn_befor_secs = 5", "warn_befor_secs"),
        ] {
            let err = Settings::parse(&format!("[session]\n{text}\n")).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
