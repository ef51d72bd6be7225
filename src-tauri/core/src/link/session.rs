//! How long a sign-in lasts: a token's expiry (a JWT's `exp`, read without verifying it, or the login answer's
//! `expires_in`), its refresh token, and when to renew it or to warn that the session ends.
//!
//! The client never verifies a JWT (the server does, and the client has no key): it only reads when the token
//! says it ends, to act before it does. A token that is not a JWT and came without `expires_in` has no known
//! end: it is used until the server refuses it.

use std::time::Duration;

use base64::Engine as _;
use chrono::TimeDelta;

use crate::domain::{Timestamp, Token};

/// A signed-in session's secrets and lifetime. `Debug` never shows a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access token the link sends.
    pub token: Token,
    /// The refresh token, when the login answered one (kept in the keyring next to the token).
    pub refresh: Option<Token>,
    /// When the token expires, where that is known.
    pub expires_at: Option<Timestamp>,
    /// When it was issued (the JWT's `iat`, else when it was received).
    pub issued_at: Timestamp,
}

impl Credentials {
    /// A token received at `now`, with its refresh token and the answer's `expires_in` (seconds). The expiry is
    /// the earlier of the JWT's `exp` and `now + expires_in`.
    pub fn new(
        token: Token,
        refresh: Option<Token>,
        expires_in: Option<u64>,
        now: Timestamp,
    ) -> Self {
        let claims = jwt_claims(token.expose());
        let answered = expires_in
            .and_then(|secs| i64::try_from(secs).ok())
            .map(|secs| now.plus(TimeDelta::seconds(secs)));
        let expires_at = match (claims.and_then(|c| c.exp), answered) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let issued_at = claims
            .and_then(|c| c.iat)
            .filter(|iat| *iat <= now)
            .unwrap_or(now);
        Self {
            token,
            refresh,
            expires_at,
            issued_at,
        }
    }

    /// A token from elsewhere (the keyring, `--token`): its expiry is what the token itself says.
    pub fn of_token(token: Token, refresh: Option<Token>, now: Timestamp) -> Self {
        Self::new(token, refresh, None, now)
    }

    /// Whether it can be renewed without the user (a refresh token and a known expiry).
    pub fn renews(&self) -> bool {
        self.refresh.is_some() && self.expires_at.is_some()
    }
}

/// What a JWT says about its own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// Issued at.
    pub iat: Option<Timestamp>,
    /// Expires at.
    pub exp: Option<Timestamp>,
}

/// The `iat` and `exp` of a JWT (`header.payload.signature`, base64url JSON), unverified; `None` for anything
/// that is not one.
pub fn jwt_claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None; // a JWE has five parts, and its payload is encrypted
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let time = |name: &str| {
        let secs = claims.get(name)?;
        // NumericDate: seconds since the epoch, possibly with a fraction.
        let secs = secs.as_i64().or_else(|| {
            #[allow(clippy::cast_possible_truncation)]
            secs.as_f64().map(|f| f as i64)
        })?;
        chrono::DateTime::from_timestamp(secs, 0).map(Timestamp::from_datetime)
    };
    Some(Claims {
        iat: time("iat"),
        exp: time("exp"),
    })
}

/// When to act on a session (see `docs/settings.md`, `[session]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Renew this long before the token expires; at least a fifth and at most half of its lifetime.
    pub renew_before: Duration,
    /// Without a way to renew: warn this long before it expires.
    pub warn_before: Duration,
}

impl Timing {
    /// When to renew `credentials` (none without a refresh token or a known expiry). At 80% of the lifetime for a
    /// long-lived token whose `renew_before` is short, `renew_before` ahead otherwise, and never before half the
    /// lifetime: a token renewed that early again and again would be renewed in a loop.
    pub fn renew_at(&self, credentials: &Credentials) -> Option<Timestamp> {
        let expires = credentials.expires_at.filter(|_| credentials.renews())?;
        let lifetime = expires.since(credentials.issued_at).max(TimeDelta::zero());
        let before = TimeDelta::from_std(self.renew_before).unwrap_or(TimeDelta::MAX);
        let lead = before.clamp(lifetime / 5, lifetime / 2);
        Some(expires.minus(lead))
    }

    /// When to say that the session ends (none when its end is not known).
    pub fn warn_at(&self, credentials: &Credentials) -> Option<Timestamp> {
        let expires = credentials.expires_at?;
        let before = TimeDelta::from_std(self.warn_before).unwrap_or(TimeDelta::MAX);
        Some(expires.minus(before))
    }
}

/// How long to wait before trying a renewal that failed (not refused) again: 5 s doubling to a minute.
pub fn retry_delay(failures: u32) -> Duration {
    Duration::from_secs(5u64.saturating_mul(1 << failures.min(4)).min(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWT with this payload (unsigned: the client never verifies).
    fn jwt(payload: &serde_json::Value) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.c2ln",
            b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            b64.encode(payload.to_string())
        )
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_datetime(chrono::DateTime::from_timestamp(secs, 0).unwrap())
    }

    const T0: i64 = 1_750_000_000;

    #[test]
    fn a_jwt_says_when_it_was_issued_and_when_it_ends() {
        let token = jwt(&serde_json::json!({"sub": "u-1", "iat": T0, "exp": T0 + 3600}));
        let claims = jwt_claims(&token).unwrap();
        assert_eq!(claims.iat, Some(at(T0)));
        assert_eq!(claims.exp, Some(at(T0 + 3600)));
        // A fractional NumericDate, no iat, and a payload written with base64 padding.
        let token = jwt(&serde_json::json!({"exp": 1_750_000_100.75}));
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        while !parts[1].len().is_multiple_of(4) {
            parts[1].push('=');
        }
        let token = parts.join(".");
        assert_eq!(jwt_claims(&token).unwrap().exp, Some(at(1_750_000_100)));
        assert_eq!(jwt_claims(&token).unwrap().iat, None);
    }

    #[test]
    fn anything_else_has_no_claims() {
        for token in [
            "opaque-token",
            "a.b",
            "a.!!!.c",
            "a.b.c.d.e",
            &format!(
                "x.{}.y",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("not json")
            ),
        ] {
            assert_eq!(jwt_claims(token), None, "{token}");
        }
        let no_times = jwt(&serde_json::json!({"sub": "x", "exp": "tomorrow"}));
        assert_eq!(
            jwt_claims(&no_times),
            Some(Claims {
                iat: None,
                exp: None
            })
        );
    }

    #[test]
    fn expiry_is_the_earlier_of_exp_and_expires_in() {
        let now = at(T0);
        let token = Token::new(jwt(&serde_json::json!({"iat": T0, "exp": T0 + 600})));
        let c = Credentials::new(token.clone(), None, Some(300), now);
        assert_eq!(c.expires_at, Some(at(T0 + 300)));
        let c = Credentials::new(token.clone(), None, Some(900), now);
        assert_eq!(c.expires_at, Some(at(T0 + 600)));
        let c = Credentials::of_token(token, None, now);
        assert_eq!((c.expires_at, c.issued_at), (Some(at(T0 + 600)), at(T0)));
        let opaque = Credentials::new(Token::new("opaque"), None, Some(60), now);
        assert_eq!(opaque.expires_at, Some(at(T0 + 60)));
        assert!(!opaque.renews(), "no refresh token");
        let unknown = Credentials::of_token(Token::new("opaque"), Some(Token::new("r")), now);
        assert_eq!(unknown.expires_at, None);
        assert!(!unknown.renews(), "no known end: nothing to schedule");
    }

    #[test]
    fn debug_never_shows_a_token() {
        let c = Credentials::new(
            Token::new("ACCESS-SECRET"),
            Some(Token::new("REFRESH-SECRET")),
            Some(60),
            at(T0),
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    fn lasting(secs: i64) -> Credentials {
        let token = Token::new(jwt(&serde_json::json!({"iat": T0, "exp": T0 + secs})));
        Credentials::of_token(token, Some(Token::new("r")), at(T0 + 1))
    }

    #[test]
    fn renewal_comes_before_the_end_and_never_in_a_loop() {
        let timing = Timing {
            renew_before: Duration::from_secs(300),
            warn_before: Duration::from_secs(600),
        };
        // An hour: at 80% (12 minutes ahead), since 5 minutes ahead would be later.
        assert_eq!(timing.renew_at(&lasting(3600)), Some(at(T0 + 2880)));
        // 20 minutes: 5 minutes ahead (between a fifth and a half of the lifetime).
        assert_eq!(timing.renew_at(&lasting(1200)), Some(at(T0 + 900)));
        // 10 seconds: halfway, not 5 minutes ahead (which would be before it was issued).
        assert_eq!(timing.renew_at(&lasting(10)), Some(at(T0 + 5)));
        // Without a refresh token: nothing to renew, only a warning 10 minutes ahead.
        let plain = Credentials {
            refresh: None,
            ..lasting(3600)
        };
        assert_eq!(timing.renew_at(&plain), None);
        assert_eq!(timing.warn_at(&plain), Some(at(T0 + 3000)));
        // A token shorter than the warning: warned at once (a time already past).
        assert!(timing.warn_at(&lasting(60)).unwrap() < at(T0));
        // An expiry before the issue time (a wrong clock): renew at once, not never.
        let odd = Credentials {
            issued_at: at(T0 + 100),
            ..lasting(10)
        };
        assert_eq!(timing.renew_at(&odd), Some(at(T0 + 10)));
    }

    #[test]
    fn failed_renewals_are_retried_within_a_minute() {
        let delays: Vec<u64> = (0..7).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60, 60]);
    }
}
