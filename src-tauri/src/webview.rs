//! The web view's memory settings. The window shows one local page all shift: WebKit's browser caches buy nothing
//! here and cost memory; without `gpu`, compositing is done in software (less memory; see docs/benchmarks.md, which
//! has the figures for each setting kept and for those tried and left out).
//!
//! Shared with the floor measurement (`examples/empty_window.rs`), which applies the same settings to an empty
//! window.

/// Applies the settings to the window's web view (Linux: WebKitGTK; elsewhere nothing).
pub(crate) fn lighten(window: &tauri::WebviewWindow, gpu: bool) {
    #[cfg(target_os = "linux")]
    let result = window.with_webview(move |webview| {
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
        };
        let view = webview.inner();
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_page_cache(false);
            if !gpu {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        }
    });
    #[cfg(not(target_os = "linux"))]
    let result: tauri::Result<()> = {
        let _ = gpu;
        Ok(())
    };
    if let Err(e) = result {
        tracing::warn!("cannot tune the web view: {e}");
    }
}
