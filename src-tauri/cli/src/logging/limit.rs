//! Repeated warnings, written once per interval.
//!
//! A server that sends a bad frame every second would otherwise write a warning every second all shift.
//! [`RateLimit`] lets the same warning or error through at most once per interval; "the same" is the same place
//! in the code with the same message and the same `server` field (so one server's trouble never hides
//! another's, and different failures are each written). The first one written after a quiet spell says how many
//! were left out since the last, through [`NoteDropped`], which wraps each output's formatter.
//!
//! The layer decides in `event_enabled`, before any output sees the event, so the console and the file agree.
//! Info and debug lines are not limited (the file's size cap bounds them).

use std::cell::Cell;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// How many different warnings are remembered at once; past it, the ones whose interval is over are forgotten,
/// and if that is not enough, new ones are written without being counted.
const MAX_REMEMBERED: usize = 1024;

thread_local! {
    /// How many copies of the event being written on this thread were left out before it (0: none).
    static DROPPED: Cell<u64> = const { Cell::new(0) };
}

/// The layer that holds back repeated warnings and errors. Add it last (outermost).
#[derive(Debug)]
pub(super) struct RateLimit {
    every: Duration,
    /// By a hash of the callsite, the message and the server.
    seen: Mutex<HashMap<u64, Window>>,
}

#[derive(Debug)]
struct Window {
    since: Instant,
    dropped: u64,
}

impl RateLimit {
    pub(super) fn new(every: Duration) -> Self {
        Self {
            every,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a warning with `key` is written at `now`: `Some(n)` when it is (`n` left out since the last one),
    /// `None` when it is held back.
    fn admit(&self, key: u64, now: Instant) -> Option<u64> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(window) = seen.get_mut(&key) {
            if now.saturating_duration_since(window.since) < self.every {
                window.dropped += 1;
                return None;
            }
            let dropped = window.dropped;
            *window = Window {
                since: now,
                dropped: 0,
            };
            return Some(dropped);
        }
        if seen.len() >= MAX_REMEMBERED {
            let every = self.every;
            seen.retain(|_, w| now.saturating_duration_since(w.since) < every);
        }
        if seen.len() < MAX_REMEMBERED {
            seen.insert(
                key,
                Window {
                    since: now,
                    dropped: 0,
                },
            );
        }
        Some(0)
    }
}

impl<S: Subscriber> Layer<S> for RateLimit {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let metadata = event.metadata();
        if *metadata.level() > Level::WARN {
            DROPPED.with(|d| d.set(0));
            return true;
        }
        let mut key = KeyFields(DefaultHasher::new());
        metadata.callsite().hash(&mut key.0);
        event.record(&mut key);
        match self.admit(key.0.finish(), Instant::now()) {
            Some(dropped) => {
                DROPPED.with(|d| d.set(dropped));
                true
            }
            None => false,
        }
    }

    fn on_event(&self, _event: &Event<'_>, _ctx: Context<'_, S>) {
        // Every output has written it (this layer is the outermost, so it hears of the event last).
        DROPPED.with(|d| d.set(0));
    }
}

/// Hashes the fields that make two warnings "the same": the message and the server.
struct KeyFields(DefaultHasher);

impl Visit for KeyFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if matches!(field.name(), "message" | "server") {
            field.name().hash(&mut self.0);
            let _ = fmt::write(&mut HashWriter(&mut self.0), format_args!("{value:?}"));
            0xffu8.hash(&mut self.0);
        }
    }
}

struct HashWriter<'a>(&'a mut DefaultHasher);

impl fmt::Write for HashWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// Wraps an output's formatter: a line written after others like it were held back says how many.
#[derive(Debug)]
pub(super) struct NoteDropped<F>(pub(super) F);

impl<S, N, F> FormatEvent<S, N> for NoteDropped<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let dropped = DROPPED.with(Cell::get);
        if dropped == 0 {
            return self.0.format_event(ctx, writer, event);
        }
        // Formatted apart (without colours) to put the note at the end of the line.
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        writeln!(
            writer,
            "{line} [{dropped} more like this left out since the last one]"
        )
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use tracing_subscriber::layer::SubscriberExt;

    use super::{NoteDropped, RateLimit};

    /// What the subscriber wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        }
    }

    fn logging(every: Duration) -> (impl tracing::Subscriber, Captured) {
        let captured = Captured::default();
        let out = captured.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .without_time()
                    .with_writer(move || out.clone())
                    .map_event_format(NoteDropped),
            )
            .with(RateLimit::new(every));
        (subscriber, captured)
    }

    fn bad_frame(server: &str, error: &str) {
        tracing::warn!(server, len = 12, "dropped a bad frame: {error}");
    }

    #[test]
    fn a_repeated_warning_is_written_once_per_interval_and_then_counted() {
        let (subscriber, captured) = logging(Duration::from_millis(300));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                bad_frame("http://a", "expected value");
            }
            // Another server, another message, and info lines are each their own.
            bad_frame("http://b", "expected value");
            bad_frame("http://a", "trailing characters");
            for i in 0..3 {
                tracing::info!("connected {i}");
            }
            assert_eq!(captured.lines().len(), 6, "{:#?}", captured.lines());

            std::thread::sleep(Duration::from_millis(400));
            bad_frame("http://a", "expected value");
            bad_frame("http://a", "expected value");
        });
        let lines = captured.lines();
        assert_eq!(lines.len(), 7, "{lines:#?}");
        let bad = |l: &&String| l.contains("http://a") && l.contains("expected value");
        let repeats: Vec<&String> = lines.iter().filter(bad).collect();
        assert_eq!(repeats.len(), 2, "{lines:#?}");
        assert!(!repeats[0].contains("left out"), "{}", repeats[0]);
        assert!(
            repeats[1].ends_with("[99 more like this left out since the last one]"),
            "{}",
            repeats[1]
        );
        assert!(
            repeats[1].contains("WARN") && repeats[1].contains("len=12"),
            "{}",
            repeats[1]
        );
    }

    #[test]
    fn the_window_and_its_count() {
        let limit = RateLimit::new(Duration::from_secs(60));
        let key = || 7;
        let start = Instant::now();
        assert_eq!(limit.admit(key(), start), Some(0));
        assert_eq!(limit.admit(key(), start + Duration::from_secs(1)), None);
        assert_eq!(limit.admit(key(), start + Duration::from_secs(59)), None);
        assert_eq!(limit.admit(key(), start + Duration::from_secs(60)), Some(2));
        assert_eq!(limit.admit(key(), start + Duration::from_secs(119)), None);
        assert_eq!(
            limit.admit(key(), start + Duration::from_secs(200)),
            Some(1)
        );
        assert_eq!(
            limit.admit(key(), start + Duration::from_secs(300)),
            Some(0)
        );
        // Different keys are remembered up to a bound, and the expired ones make room.
        for i in 0..super::MAX_REMEMBERED as u64 * 2 {
            limit.admit(100 + i, start + Duration::from_secs(400));
        }
        assert!(limit.seen.lock().unwrap().len() <= super::MAX_REMEMBERED);
    }
}
