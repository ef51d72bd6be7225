//! A notification as the arguments of the freedesktop `Notify` call: built with notify-rust's message type and
//! hints (app name and icon, escaped text, urgency, expiry, sound hints, category, the desktop entry, buttons),
//! sent by the worker over its one connection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use notify_rust::{Hint, Timeout};

use crate::alerting::notify::{Expire, Notification, Urgency};

/// The arguments of `Notify` (signature `susssasa{sv}i`): app name, id to replace (0: none), icon, summary,
/// body, actions as key and label in turn, hints, expiry in milliseconds (-1: the server's default, 0: never).
pub(super) type NotifyArgs<'a> = (
    &'a str,
    u32,
    &'a str,
    &'a str,
    &'a str,
    &'a [String],
    HashMap<&'a str, zbus::Variant<'a>>,
    i32,
);

/// Server text as plain text in a notification body, which servers with `body-markup` read as markup: a report
/// titled `<a href=...>` or `<img src=...>` must show as those characters, not as a link or an image.
pub(super) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The summary is plain text by the specification, but some servers (dunst) read markup there too, and an
/// escape would show as `&lt;` on the others: angle brackets become look-alikes that no server reads as a tag.
pub(super) fn summary_text(text: &str) -> String {
    text.replace('<', "\u{2039}").replace('>', "\u{203a}")
}

/// The notify-rust message for a notification: app name and icon, urgency, expiry, sound hints, its
/// `x-alertdesk.*` category, the `desktop-entry` hint (the installed `APP_ID.desktop`, by which a desktop finds
/// the app's name, icon and per-app notification settings), buttons.
pub(super) fn build(
    n: &Notification,
    sounds: &Path,
    icon: Option<&PathBuf>,
) -> notify_rust::Notification {
    let mut message = notify_rust::Notification::new();
    message
        .appname("Alertdesk")
        .summary(&summary_text(&n.summary))
        .body(&escape_markup(&n.body));
    if let Some(icon) = icon {
        message.icon(&icon.to_string_lossy());
    }
    message.urgency(match n.urgency {
        Urgency::Low => notify_rust::Urgency::Low,
        Urgency::Normal => notify_rust::Urgency::Normal,
        Urgency::Critical => notify_rust::Urgency::Critical,
    });
    if n.expire == Expire::Never {
        message.timeout(Timeout::Never);
    }
    if let Some(tone) = &n.sound {
        if let Some(file) = crate::alerting::sounds::tone_file(sounds, &tone.name) {
            message.hint(Hint::SoundFile(file.to_string_lossy().into_owned()));
        }
        message.hint(Hint::SoundName(
            crate::alerting::sounds::theme_name_for_tone(&tone.name).to_string(),
        ));
    }
    message.hint(Hint::Category(n.category.hint()));
    message.hint(Hint::DesktopEntry(crate::APP_ID.to_string()));
    for (key, label) in &n.actions {
        message.action(key, label);
    }
    message
}

/// The `Notify` arguments of `message` (never replacing: a repeat closes the last one and shows a new one).
pub(super) fn notify_args(message: &notify_rust::Notification) -> NotifyArgs<'_> {
    // notify-rust's own encoding of each hint (urgency as a byte, the others as strings).
    let hints = message
        .hints
        .iter()
        .map(<(&str, zbus::Variant<'_>)>::from)
        .collect();
    (
        &message.appname,
        0,
        &message.icon,
        &message.summary,
        &message.body,
        &message.actions,
        hints,
        i32::from(message.timeout),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::{AlertKey, Category, Tone, ACTION_ACKNOWLEDGE, ACTION_OPEN};

    #[test]
    fn server_text_in_a_body_is_not_markup() {
        assert_eq!(
            escape_markup("<img src=x onerror=\"a()\"> & <a href='javascript:x'>"),
            "&lt;img src=x onerror=&quot;a()&quot;&gt; &amp; &lt;a href=&apos;javascript:x&apos;&gt;"
        );
        assert_eq!(escape_markup("Station 4 · Main St"), "Station 4 · Main St");
        assert_eq!(
            summary_text("Fire: <img src=x> & smoke"),
            "Fire: \u{2039}img src=x\u{203a} & smoke"
        );
    }

    #[test]
    fn the_call_carries_text_buttons_hints_and_expiry() {
        let sounds = tempfile::tempdir().unwrap();
        crate::alerting::sounds::extract(sounds.path()).unwrap();
        let icon = PathBuf::from("/data/alertdesk.png");
        let n = Notification {
            summary: "Report: <b>Smoke</b>".into(),
            body: "Main St & 4th".into(),
            urgency: Urgency::Critical,
            sound: Some(Tone::new("critical", 80)),
            expire: Expire::Never,
            actions: vec![
                (ACTION_ACKNOWLEDGE.into(), "Acknowledge".into()),
                ("respond:en_route".into(), "En route".into()),
                (ACTION_OPEN.into(), "Open".into()),
            ],
            alert: Some(AlertKey::new(
                &crate::domain::ServerId::from_stored("http://a"),
                "r-1",
            )),
            category: Category::Alert(crate::domain::Priority::Critical),
            repeat: 0,
        };
        let message = build(&n, sounds.path(), Some(&icon));
        let (app, replaces, icon_arg, summary, body, actions, hints, expire) =
            notify_args(&message);
        assert_eq!(
            (app, replaces, icon_arg),
            ("Alertdesk", 0, "/data/alertdesk.png")
        );
        assert_eq!(summary, "Report: \u{2039}b\u{203a}Smoke\u{2039}/b\u{203a}");
        assert_eq!(body, "Main St &amp; 4th");
        assert_eq!(
            actions,
            [
                "acknowledge",
                "Acknowledge",
                "respond:en_route",
                "En route",
                "open",
                "Open"
            ]
        );
        assert_eq!(expire, 0, "critical notifications stay until dismissed");
        assert_eq!(hints["urgency"], zbus::Variant::U8(2));
        assert_eq!(
            hints["category"],
            zbus::Variant::Str("x-alertdesk.alert.critical".into())
        );
        assert_eq!(
            hints["desktop-entry"],
            zbus::Variant::Str("app.alertdesk.Alertdesk".into())
        );
        let zbus::Variant::Str(file) = &hints["sound-file"] else {
            panic!("sound-file is a string: {hints:?}");
        };
        assert!(Path::new(file.as_str()).is_file(), "{file}");
        assert!(hints.contains_key("sound-name"));

        // An ordinary one without a tone: the server's expiry, no sound hints.
        let quiet = Notification {
            urgency: Urgency::Low,
            sound: None,
            expire: Expire::Default,
            category: Category::Link,
            ..n
        };
        let message = build(&quiet, sounds.path(), None);
        let (_, _, icon_arg, _, _, _, hints, expire) = notify_args(&message);
        assert_eq!((icon_arg, expire), ("", -1));
        assert_eq!(hints["urgency"], zbus::Variant::U8(0));
        assert_eq!(
            hints["category"],
            zbus::Variant::Str("x-alertdesk.connection".into())
        );
        assert!(hints.contains_key("desktop-entry"));
        assert!(!hints.contains_key("sound-file") && !hints.contains_key("sound-name"));
    }
}
