//! `alertdesk demo`: run the built-in demo backend on 127.0.0.1 until Ctrl-C or SIGTERM.

use std::io::Write;
use std::process::ExitCode;

use alertdesk_demo::{DemoConfig, DEFAULT_PORT, USERS};
use clap::Args;

use super::{runtime, shutdown_signal};

/// `alertdesk demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port on 127.0.0.1 (0 picks a free one). The demo profile expects 8765.
    #[arg(long, value_name = "P", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Simulated events per minute (0: none; create reports with POST /api/reports instead).
    #[arg(long, value_name = "PER_MIN", default_value_t = DemoConfig::default().rate_per_min,
          value_parser = parse_rate, allow_negative_numbers = true)]
    pub rate: f64,
}

/// A rate: a finite number >= 0.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!(
            "expected a number of events per minute >= 0, got {text:?}"
        )),
    }
}

pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(serve(args))
}

async fn serve(args: &DemoArgs) -> ExitCode {
    // Listen for signals before printing the URL: whoever reads it may stop us right away.
    let stop = shutdown_signal();
    let config = DemoConfig {
        port: args.port,
        rate_per_min: args.rate,
        ..DemoConfig::default()
    };
    let server = match alertdesk_demo::start(config).await {
        Ok(server) => server,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "alertdesk: port {} on 127.0.0.1 is in use (another demo running?); pick another with --port, or --port 0 for any free one",
                args.port
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("alertdesk: cannot start the demo backend: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = instructions(&server.url(), args.rate);
    let mut stdout = std::io::stdout().lock();
    // A closed stdout does not stop the server: it is still useful to whoever started it.
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    stop.await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// What to print: the URL first (scripts wait for that line), then the logins and what to run next.
fn instructions(url: &str, rate: f64) -> String {
    // The demo profile's default_server is the default port; elsewhere the commands need --server.
    let server = if url == format!("http://127.0.0.1:{DEFAULT_PORT}") {
        String::new()
    } else {
        format!(" --server {url}")
    };
    let mut lines = vec![format!("Alertdesk demo backend on {url}")];
    lines.push(if rate > 0.0 {
        format!("Simulating {rate} events a minute for stations 4 and 7.")
    } else {
        "Simulator off: create reports with POST /api/reports.".to_string()
    });
    lines.push(String::new());
    lines.push("Demo logins:".to_string());
    for user in USERS {
        let sees = user
            .station_id
            .map_or_else(|| "every station".to_string(), |s| format!("station {s}"));
        lines.push(format!(
            "  {:<11} password {}   ({}, sees {sees})",
            user.username, user.password, user.name
        ));
    }
    let login = r#"'{"username":"officer","password":"demo"}'"#;
    let token = r#"'s/.*"token":"\([0-9a-f]*\)".*/\1/'"#;
    lines.extend([
        String::new(),
        "In another terminal:".to_string(),
        format!("  alertdesk login --profile demo{server} --username officer   (password: demo)"),
        format!("  alertdesk listen --profile demo{server}"),
        "Or without the keyring:".to_string(),
        format!(
            "  ALERTDESK_TOKEN=$(curl -s -H 'Content-Type: application/json' -d {login} {url}/api/login | sed {token}) alertdesk listen --profile demo{server}"
        ),
        "As the dispatcher: log in as dispatcher, and listen with --set user_id=dispatcher.".to_string(),
        String::new(),
        "Press Ctrl-C to stop.".to_string(),
    ]);
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::{instructions, parse_rate};

    #[test]
    fn rates_are_numbers_from_zero() {
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate("2.5"), Ok(2.5));
        for bad in ["-1", "NaN", "inf", "fast", ""] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instructions_name_the_server_only_when_it_is_not_the_default() {
        let text = instructions("http://127.0.0.1:8765", 6.0);
        assert!(text.starts_with("Alertdesk demo backend on http://127.0.0.1:8765\n"));
        assert!(text.contains("  alertdesk login --profile demo --username officer"));
        assert!(text.contains("  alertdesk listen --profile demo\n"));
        assert!(text.contains("officer     password demo"));
        let text = instructions("http://127.0.0.1:40000", 0.0);
        assert!(text.contains("alertdesk listen --profile demo --server http://127.0.0.1:40000\n"));
        assert!(text.contains("ALERTDESK_TOKEN=$(curl"));
    }
}
