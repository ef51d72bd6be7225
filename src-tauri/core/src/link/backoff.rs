//! How long a link waits before the next attempt, and the probe that ends the wait early as soon as a server
//! that was down answers again.

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

/// How often a down server is probed during a backoff wait (each interval drawn between 0.75 and 1.25 times
/// this, so many clients do not probe in step).
pub const PROBE_EVERY: Duration = Duration::from_millis(300);

/// How long one probe may take.
const PROBE_WITHIN: Duration = Duration::from_millis(900);

/// Whether a server that failed the last attempt looks able to take a link now: a plain HTTP `GET` of the link's
/// address (its path, no query, no credentials) through the link's own network, so it takes the same route (proxy, TLS
/// trust) as everything else. Any answer but 502, 503 or 504 means back (a WebSocket endpoint answers a plain
/// `GET` with 400, 404 or 426); a refused, reset or closed connection, a TLS failure or a gateway error means
/// still down. No answer within [`PROBE_WITHIN`] counts as back: a server that accepts and stays silent is worth
/// a real attempt (and the supervisor does not trust the probe twice in a row when that attempt fails).
pub async fn answers(client: &reqwest::Client, link: &url::Url) -> bool {
    let Some(url) = probe_url(link) else {
        return false;
    };
    let request = client
        .get(url)
        .header(reqwest::header::CACHE_CONTROL, "no-cache")
        .send();
    match tokio::time::timeout(PROBE_WITHIN, request).await {
        Err(_) => true,
        Ok(Ok(response)) => !matches!(response.status().as_u16(), 502..=504),
        Ok(Err(e)) => e.is_timeout(),
    }
}

/// The `http(s)://` form of a `ws(s)://` link address, without its query (which may hold a token) or fragment.
fn probe_url(link: &url::Url) -> Option<url::Url> {
    let scheme = match link.scheme() {
        "ws" | "http" => "http",
        "wss" | "https" => "https",
        _ => return None,
    };
    let mut url = url::Url::parse(&format!("{scheme}://placeholder/")).ok()?;
    url.set_host(link.host_str()).ok()?;
    url.set_port(link.port()).ok()?;
    url.set_path(link.path());
    Some(url)
}

/// Resolves once `probe` says the server is back, probing about every [`PROBE_EVERY`]; never when `probe` is
/// `None`, nor in the last probe interval of the wait (the attempt is due then anyway).
pub async fn back_online<F, P>(probe: Option<P>, deadline: Instant)
where
    P: FnMut() -> F,
    F: std::future::Future<Output = bool>,
{
    let Some(mut probe) = probe else {
        return std::future::pending().await;
    };
    loop {
        let next = Instant::now() + PROBE_EVERY.mul_f64(0.75 + fastrand::f64() / 2.0);
        if next + PROBE_EVERY >= deadline {
            return std::future::pending().await;
        }
        tokio::time::sleep_until(next).await;
        if probe().await {
            tracing::info!("the server answers again: reconnecting now");
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

    #[test]
    fn the_probe_asks_for_the_links_path_over_http_without_its_query() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        let probe = |s: &str| probe_url(&url(s)).map(|u| u.to_string());
        assert_eq!(
            probe("ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket&token=secret")
                .as_deref(),
            Some("http://127.0.0.1:8080/socket.io/")
        );
        assert_eq!(
            probe("wss://dispatch.example/ws/updates?token=t#x").as_deref(),
            Some("https://dispatch.example/ws/updates")
        );
        assert_eq!(probe("ftp://example/x"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_at_the_first_probe_that_says_back_and_never_in_its_last_interval() {
        let started = Instant::now();
        let mut asked = 0;
        back_online(
            Some(|| {
                asked += 1;
                std::future::ready(asked == 3)
            }),
            started + Duration::from_secs(20),
        )
        .await;
        let waited = started.elapsed();
        assert_eq!(asked, 3);
        assert!(
            waited >= PROBE_EVERY.mul_f64(3.0 * 0.75) && waited <= PROBE_EVERY.mul_f64(3.0 * 1.25)
        );

        // A wait shorter than two intervals is never ended by a probe.
        let short = tokio::time::timeout(
            Duration::from_secs(1),
            back_online(
                Some(|| std::future::ready(true)),
                Instant::now() + PROBE_EVERY,
            ),
        )
        .await;
        assert!(
            short.is_err(),
            "a probe ended a wait that was about to end anyway"
        );
    }
}
