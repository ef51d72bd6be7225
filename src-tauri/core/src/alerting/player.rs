//! Plays the bundled tones in this process, for notification servers that play no sound themselves (see
//! [`crate::dbus_notifier`]).
//!
//! [`Player::play`] never blocks: the tone is queued for a dedicated thread, started on the first tone, which
//! decodes it (Vorbis, from the bytes embedded in the binary), opens the default audio output, plays the tone
//! at its volume and closes the output again, so an idle Alertdesk holds no audio device and wakes no audio
//! thread. No audio output (a server without a sound card, no ALSA configuration) is logged once and never
//! stops an alert. [`RecordingPlayer`] keeps what it is asked to play, for tests.

use std::collections::HashSet;
use std::io::Cursor;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::alerting::notify::Tone;

/// Plays a tone.
pub trait Player: Send + Sync {
    /// Starts playing `tone` (its bundled tone at its volume) and returns at once.
    fn play(&self, tone: &Tone);
}

/// Tones waiting for the audio thread beyond this many are dropped (one is already about to sound).
const QUEUE: usize = 4;

/// Longest a tone may take beyond its own length before the audio thread gives up on the device.
const GRACE: Duration = Duration::from_secs(2);

/// Plays tones on the default audio output (ALSA on Linux) through rodio.
#[derive(Debug, Default)]
pub struct AudioPlayer {
    queue: OnceLock<SyncSender<Tone>>,
}

impl AudioPlayer {
    /// A player; its thread starts with the first tone.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Player for AudioPlayer {
    fn play(&self, tone: &Tone) {
        let queue = self.queue.get_or_init(|| {
            let (queue, tones) = mpsc::sync_channel(QUEUE);
            let started = std::thread::Builder::new()
                .name("alertdesk-sound".into())
                .spawn(move || play_queued(&tones));
            if let Err(e) = started {
                tracing::warn!("cannot start the sound thread: {e}; tones are not played");
            }
            queue
        });
        if let Err(TrySendError::Full(_)) = queue.try_send(tone.clone()) {
            tracing::debug!(tone = %tone.name, "tones queued already; this one is dropped");
        }
    }
}

/// The audio thread: one tone at a time, until the player is dropped.
fn play_queued(tones: &Receiver<Tone>) {
    let mut alsa_messages = AlsaMessages::capture();
    let mut output_failed = false;
    let mut unknown = HashSet::new();
    while let Ok(tone) = tones.recv() {
        let Some(bytes) = crate::alerting::sounds::tone_bytes(&tone.name) else {
            if unknown.insert(tone.name.clone()) {
                tracing::warn!(tone = %tone.name, "no bundled tone of this name to play");
            }
            continue;
        };
        let played = play_blocking(bytes, tone.volume);
        let details = alsa_messages.take();
        if !details.is_empty() {
            tracing::debug!("alsa-lib: {details}");
        }
        match played {
            Ok(()) => output_failed = false,
            Err(e) if !output_failed => {
                tracing::warn!(
                    "cannot play the notification tone ({e}); alerts are still notified"
                );
                output_failed = true;
            }
            Err(e) => tracing::debug!("cannot play the notification tone: {e}"),
        }
    }
}

/// alsa-lib writes its errors (a machine with no sound card: a dozen lines per attempt) to stderr, the
/// listener's status channel. On this thread they go to a buffer instead, and from there to the debug log.
struct AlsaMessages {
    #[cfg(target_os = "linux")]
    buffer: Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>,
}

impl AlsaMessages {
    fn capture() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            buffer: alsa::Output::local_error_handler().ok(),
        }
    }

    /// What alsa-lib said since the last call.
    #[allow(clippy::unused_self)] // nothing to take off Linux
    fn take(&mut self) -> String {
        #[cfg(target_os = "linux")]
        if let Some(buffer) = self.buffer.take() {
            let text = buffer.borrow().to_string();
            // A fresh buffer; the old one is freed.
            self.buffer = alsa::Output::local_error_handler().ok();
            return text.trim().replace('\n', "; ");
        }
        String::new()
    }
}

/// Decodes and plays one tone on the default output, and waits (bounded) until it has been played.
fn play_blocking(bytes: &'static [u8], volume: u8) -> Result<(), String> {
    use rodio::Source;

    let decoder = rodio::Decoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let length = decoder.total_duration().unwrap_or(Duration::from_secs(5));
    let mut output = rodio::DeviceSinkBuilder::from_default_device()
        .map_err(|e| e.to_string())?
        .with_error_callback(|e| tracing::debug!("audio output: {e}"))
        .open_stream()
        .map_err(|e| e.to_string())?;
    output.log_on_drop(false);
    let player = rodio::Player::connect_new(output.mixer());
    player.set_volume(gain(volume));
    player.append(decoder);
    let deadline = Instant::now() + length + GRACE;
    while !player.empty() {
        if Instant::now() >= deadline {
            return Err("the audio output stalled".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The last buffer is still in the device: let it drain before the output closes.
    std::thread::sleep(Duration::from_millis(100));
    Ok(())
}

/// The amplitude factor for a volume setting of 0 to 100.
pub fn gain(volume: u8) -> f32 {
    f32::from(volume.min(100)) / 100.0
}

/// A [`Player`] that records what it is asked to play, for tests.
#[derive(Debug, Default)]
pub struct RecordingPlayer {
    played: Mutex<Vec<Tone>>,
}

impl RecordingPlayer {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every tone played so far, oldest first.
    pub fn played(&self) -> Vec<Tone> {
        self.played
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Player for RecordingPlayer {
    fn play(&self, tone: &Tone) {
        self.played
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tone.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_is_a_linear_gain() {
        assert!(gain(0).abs() < f32::EPSILON);
        assert!((gain(60) - 0.6).abs() < 1e-6);
        assert!((gain(100) - 1.0).abs() < f32::EPSILON);
        assert!((gain(250) - 1.0).abs() < f32::EPSILON, "clamped");
    }

    #[test]
    fn every_bundled_tone_decodes_to_sound() {
        for (name, bytes) in crate::alerting::sounds::TONES {
            let decoder = rodio::Decoder::new(Cursor::new(*bytes)).unwrap();
            let samples: Vec<f32> = decoder.collect();
            assert!(samples.len() > 1000, "{name}: {} samples", samples.len());
            let peak = samples.iter().fold(0.0_f32, |m, s| m.max(s.abs()));
            assert!(peak > 0.1, "{name} is silent (peak {peak})");
        }
    }

    #[test]
    fn playing_never_blocks_even_without_audio_output() {
        // Whatever this machine has (no sound card in CI), play returns at once and keeps returning. Volume 0:
        // a developer's speakers stay quiet.
        let player = AudioPlayer::new();
        let started = Instant::now();
        for _ in 0..20 {
            player.play(&Tone::new("critical", 0));
        }
        player.play(&Tone::new("no-such-tone", 80));
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
