//! The tray icon and its menu: a status line, Open, Mark all read, Pause notifications, Check for updates, Quit.
//!
//! The icon has three variants: normal, a dot for unread alerts, and offline when a server is down (offline
//! wins: a dead link matters more than unread alerts). Linux trays have no tooltips, so the unread count is
//! also the icon's title (shown beside it) and the first menu line lists every server.

use alertdesk_core::engine::{Engine, NotificationsRequest};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::bridge::Badge;
use crate::desktop::show_main_window;

const ICON_NORMAL: &[u8] = include_bytes!("../../icons/tray-normal.png");
const ICON_UNREAD: &[u8] = include_bytes!("../../icons/tray-unread.png");
const ICON_OFFLINE: &[u8] = include_bytes!("../../icons/tray-offline.png");

/// The parts of the tray that change.
pub(crate) struct Tray {
    icon: TrayIcon,
    status: MenuItem<Wry>,
}

pub(crate) fn create(app: &AppHandle) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "No servers yet", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Alertdesk", true, None::<&str>)?;
    let read = MenuItem::with_id(app, "mark-all-read", "Mark all read", true, None::<&str>)?;
    let pause = Submenu::with_items(
        app,
        "Pause notifications",
        true,
        &[
            &MenuItem::with_id(app, "pause-15", "For 15 minutes", true, None::<&str>)?,
            &MenuItem::with_id(app, "pause-60", "For 1 hour", true, None::<&str>)?,
            &MenuItem::with_id(app, "pause-on", "Until resumed", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "resume", "Resume notifications", true, None::<&str>)?,
        ],
    )?;
    let check = MenuItem::with_id(
        app,
        "check-updates",
        "Check for updates",
        true,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &read,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &check,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("alertdesk")
        .icon(Image::from_bytes(ICON_NORMAL)?)
        .tooltip("Alertdesk")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id.as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main_window(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(Tray { icon, status });
    Ok(())
}

fn on_menu(app: &AppHandle, id: &str) {
    let request = match id {
        "open" => return show_main_window(app),
        "quit" => {
            tracing::info!("quit from the tray");
            return app.exit(0);
        }
        "check-updates" => return crate::updates::check_now(app),
        "mark-all-read" => None,
        "pause-15" => Some(NotificationsRequest::Pause { minutes: Some(15) }),
        "pause-60" => Some(NotificationsRequest::Pause { minutes: Some(60) }),
        "pause-on" => Some(NotificationsRequest::Pause { minutes: None }),
        "resume" => Some(NotificationsRequest::Resume),
        other => return tracing::warn!("unknown tray menu item {other}"),
    };
    let Some(desk) = app.try_state::<Engine>().map(|d| d.inner().clone()) else {
        return tracing::warn!("tray: the desk is not running");
    };
    tauri::async_runtime::spawn(async move {
        let done = match request {
            None => desk.mark_all_read().await.map(|n| {
                tracing::info!("tray: marked {n} alerts read");
            }),
            Some(request) => desk.notifications(request).await,
        };
        if let Err(e) = done {
            tracing::warn!("tray: {e}");
        }
    });
}

/// Shows the badge: icon variant, count beside the icon, tooltip and the status line.
pub(crate) fn show_badge(app: &AppHandle, badge: &Badge) {
    let Some(tray) = app.try_state::<Tray>() else {
        return;
    };
    let bytes = if badge.offline {
        ICON_OFFLINE
    } else if badge.unread > 0 {
        ICON_UNREAD
    } else {
        ICON_NORMAL
    };
    let summary = if badge.servers.is_empty() {
        "No servers yet".to_string()
    } else {
        badge.servers.join(" · ")
    };
    let count = (badge.unread > 0).then(|| badge.unread.to_string());
    let results = [
        Image::from_bytes(bytes).and_then(|icon| tray.icon.set_icon(Some(icon))),
        tray.icon.set_title(count),
        tray.icon.set_tooltip(Some(format!(
            "{}\n{}",
            badge.title(),
            badge.servers.join("\n")
        ))),
        tray.status.set_text(summary),
    ];
    for result in results {
        if let Err(e) = result {
            tracing::warn!("cannot update the tray: {e}");
        }
    }
}
