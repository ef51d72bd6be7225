//! Notices a wake from sleep or a network change, so links reconnect at once instead of waiting for the
//! heartbeat or the backoff.
//!
//! Sleep: the monotonic clock stops while the machine is suspended and the wall clock does not, so a wall-clock
//! step well beyond the monotonic one between two checks means the machine slept. Network: the kernel's routes
//! and interface addresses (`/proc/net/route`, `/proc/net/if_inet6`) changed. Both are cheap reads every two
//! seconds; no unsafe code and no extra service are needed.

use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::time::Instant;

/// How often the watcher looks.
const EVERY: Duration = Duration::from_secs(2);

/// A wall-clock step this much larger than the monotonic one counts as a sleep.
const SLEEP_SLACK: Duration = Duration::from_secs(5);

/// One look at the clocks and the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    mono: Instant,
    wall: SystemTime,
    network: u64,
}

/// Why links should reconnect now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The machine slept.
    Resumed,
    /// Routes or addresses changed.
    NetworkChanged,
}

impl Sample {
    /// Takes a sample now.
    pub fn now() -> Self {
        Self {
            mono: Instant::now(),
            wall: SystemTime::now(),
            network: network_fingerprint(),
        }
    }
}

/// Compares two samples.
pub fn detect(before: &Sample, after: &Sample) -> Option<Wake> {
    let mono = after.mono.saturating_duration_since(before.mono);
    let wall = after.wall.duration_since(before.wall).unwrap_or_default();
    if wall > mono + SLEEP_SLACK {
        Some(Wake::Resumed)
    } else if after.network != before.network {
        Some(Wake::NetworkChanged)
    } else {
        None
    }
}

/// A hash of the routing table and the IPv6 addresses (0 where the files cannot be read).
fn network_fingerprint() -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in ["/proc/net/route", "/proc/net/if_inet6"] {
        if let Ok(bytes) = std::fs::read(file) {
            for byte in bytes {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    hash
}

/// Spawns the watcher; the counter goes up on every wake or network change. It stops when every receiver
/// is gone.
pub fn watch() -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut last = Sample::now();
        loop {
            tokio::time::sleep(EVERY).await;
            let now = Sample::now();
            if let Some(wake) = detect(&last, &now) {
                tracing::info!("{wake:?}: reconnecting now");
                if tx.send(*tx.borrow() + 1).is_err() {
                    return;
                }
            } else if tx.is_closed() {
                return;
            }
            last = now;
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(mono: Instant, wall: SystemTime, network: u64) -> Sample {
        Sample {
            mono,
            wall,
            network,
        }
    }

    #[test]
    fn a_wall_clock_jump_is_a_resume() {
        let (m, w) = (Instant::now(), SystemTime::now());
        let before = sample(m, w, 1);
        assert_eq!(detect(&before, &sample(m + EVERY, w + EVERY, 1)), None);
        assert_eq!(
            detect(
                &before,
                &sample(m + EVERY, w + EVERY + Duration::from_secs(600), 1)
            ),
            Some(Wake::Resumed)
        );
        assert_eq!(
            detect(&before, &sample(m + EVERY, w + EVERY, 2)),
            Some(Wake::NetworkChanged)
        );
        // A wall clock set back (NTP) is not a resume.
        assert_eq!(
            detect(&before, &sample(m + EVERY, w - Duration::from_secs(60), 1)),
            None
        );
    }

    #[test]
    fn the_network_fingerprint_is_stable() {
        assert_eq!(network_fingerprint(), network_fingerprint());
    }
}
