//! How long a link waits before the next attempt, and the probe that ends the wait early when a server that
//! refused connections accepts them again.

use std::time::Duration;

use backon::BackoffBuilder;
use tokio::time::Instant;

/// How the delay is drawn below its ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Anywhere in [0, ceiling] (full jitter: reconnecting clients spread out).
    #[default]
    Full,
    /// Always the ceiling (tests that must tell a reset from a grown delay).
    None,
}

/// The exponential backoff: 0.5 s doubling to a 30 s cap, each delay drawn by its [`Jitter`].
#[derive(Debug)]
pub struct Backoff {
    inner: backon::ExponentialBackoff,
    jitter: Jitter,
}

impl Backoff {
    /// A fresh backoff.
    pub fn new(jitter: Jitter) -> Self {
        let inner = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .with_factor(2.0)
            .without_max_times()
            .build();
        Self { inner, jitter }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.inner.next().unwrap_or(Duration::from_secs(30));
        let drawn = match self.jitter {
            Jitter::Full => ceiling.mul_f64(fastrand::f64()),
            Jitter::None => ceiling,
        };
        drawn.max(Duration::from_millis(50))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Jitter::Full)
    }
}

/// How often a down server's port is probed during a backoff wait.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Resolves once a server that refused connections (`url` given) accepts one again, probing its port every
/// second, so a long backoff does not keep an officer offline after the server returns. Never resolves when
/// the last failure was not at the TCP level (the server answered), nor within the last second of the wait.
pub async fn back_online(url: Option<url::Url>, deadline: Instant) {
    let Some(url) = url else {
        return std::future::pending().await;
    };
    loop {
        let next = Instant::now() + PROBE_EVERY;
        if next >= deadline {
            return std::future::pending().await;
        }
        tokio::time::sleep_until(next).await;
        if super::protocol::ws::tcp_reachable(&url, PROBE_EVERY).await {
            tracing::info!(
                "{} accepts connections again",
                super::protocol::ws::redact(&url)
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let mut backoff = Backoff::new(Jitter::Full);
        let delays: Vec<_> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(30)));
        assert!(delays[0] <= Duration::from_millis(500));
        assert!(
            delays.windows(2).any(|w| w[0] != w[1]),
            "jitter varies the delays"
        );
    }

    #[test]
    fn without_jitter_the_delays_are_the_ceilings() {
        let mut backoff = Backoff::new(Jitter::None);
        let delays: Vec<_> = (0..8).map(|_| backoff.next_delay().as_secs_f64()).collect();
        assert_eq!(delays, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
    }
}
