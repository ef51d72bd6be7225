//! The floor of the desktop app's memory: an empty Tauri window (an empty page) with the app's WebKit settings and
//! nothing else: no UI, no engine, no history. `tests/bench/desktop.py --floor` builds on this to measure it.
//!
//!     empty_window [--no-gpu] [--plain] [--try SETTING]...
//!
//! `--no-gpu`: software compositing, as `[window] gpu = false`. `--plain`: WebKit's defaults, without the app's
//! settings. `--try SETTING`: one more setting, to measure before adopting it (see `try_setting`).

#[path = "../src/webview.rs"]
mod webview;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gpu = !args.iter().any(|a| a == "--no-gpu");
    let plain = args.iter().any(|a| a == "--plain");
    let tried: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--try")
        .map(|w| w[1].clone())
        .collect();
    tauri::Builder::default()
        // about:blank would start no web process: an empty page of its own scheme instead.
        .register_uri_scheme_protocol("floor", |_, _| {
            tauri::http::Response::builder()
                .header("content-type", "text/html")
                .body(b"<!doctype html><title>Alertdesk floor</title>".to_vec())
                .expect("a static response")
        })
        .setup(move |app| {
            if tried.iter().any(|name| name == "net-memory") {
                try_network_memory(); // after GTK starts, before the network process does
            }
            let url = tauri::WebviewUrl::CustomProtocol("floor://localhost/".parse()?);
            let window = tauri::WebviewWindowBuilder::new(app, "main", url)
                .title("Alertdesk floor")
                .inner_size(1100.0, 720.0)
                .build()?;
            if !plain {
                webview::lighten(&window, gpu);
            }
            for name in &tried {
                try_setting(&window, name);
            }
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the empty window runs");
}

/// Settings measured before adopting them (docs/benchmarks.md says which helped).
fn try_setting(window: &tauri::WebviewWindow, name: &str) {
    let name = name.to_string();
    let _ = window.with_webview(move |webview| {
        use webkit2gtk::{SettingsExt, WebViewExt};
        let view = webview.inner();
        let Some(settings) = WebViewExt::settings(&view) else {
            return;
        };
        match name.as_str() {
            "no-media" => {
                settings.set_enable_media(false);
                settings.set_enable_mediasource(false);
                settings.set_enable_webaudio(false);
                settings.set_enable_media_stream(false);
            }
            "no-webgl" => settings.set_enable_webgl(false),
            "no-smooth-scrolling" => settings.set_enable_smooth_scrolling(false),
            "no-storage" => {
                settings.set_enable_html5_local_storage(false);
                settings.set_enable_html5_database(false);
            }
            _ => {}
        }
    });
}

/// A memory limit for WebKit's network process (must be set before it starts).
fn try_network_memory() {
    let mut limits = webkit2gtk::MemoryPressureSettings::new();
    limits.set_memory_limit(64);
    webkit2gtk::WebsiteDataManager::set_memory_pressure_settings(&mut limits);
}
