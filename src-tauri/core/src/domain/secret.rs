//! Credentials that must never leak into logs, debug output or error messages.

use std::fmt;

/// A login token. `Debug` and `Display` print `Token(***)`; only [`Token::expose`] gives the value, so every
/// place that sends it somewhere is explicit and easy to audit.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that sends it to the server or the keyring.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn token_never_formats_its_value() {
        let token = Token::new("eyJhbGciOi.secret-part");
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(format!("{token}"), "***");
        assert!(!format!("{:?}", Some(&token)).contains("secret"));
        assert_eq!(token.expose(), "eyJhbGciOi.secret-part");
    }
}
