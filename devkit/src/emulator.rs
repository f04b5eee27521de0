//! The Lambda Runtime Interface Emulator (RIE) running one bootstrap binary.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Result, bail};

use crate::{Process, free_port, post, wait_for_port};

/// The emulator on a free loopback port, its output in a log file; stopped (with the
/// function) on drop.
pub struct Emulator {
    invoke_url: String,
    log: PathBuf,
    process: Process,
}

impl Emulator {
    /// Runs `bootstrap` under the emulator `rie` with `env`; the log goes to
    /// `log_dir/{log_prefix}-{port}.log`. Returns once the emulator listens (10 s at most).
    pub fn start(
        rie: &Path,
        bootstrap: &Path,
        env: &[(&str, String)],
        log_dir: &Path,
        log_prefix: &str,
    ) -> Result<Self> {
        crate::logs::register_secrets_in_env(env.iter().map(|(k, v)| (*k, v.as_str())));
        let (port, api_port) = (free_port(), free_port());
        let log = log_dir.join(format!("{log_prefix}-{port}.log"));
        let file = std::fs::File::create(&log)?;
        let mut command = Command::new(rie);
        command
            .args([
                "--runtime-interface-emulator-address",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--runtime-api-address", &format!("127.0.0.1:{api_port}")])
            .arg(bootstrap)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file));
        let process = Process::spawn(&mut command)?;
        wait_for_port(port, Duration::from_secs(10))?;
        Ok(Self {
            invoke_url: format!(
                "http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
            ),
            log,
            process,
        })
    }

    /// Invokes the function with `event`; returns the time to the whole reply and the reply.
    /// Any status but 200 is an error.
    pub fn invoke(&self, event: &str) -> Result<(Duration, String)> {
        let started = Instant::now();
        let response = post(
            &self.invoke_url,
            &[("content-type", "application/json")],
            event,
        )?;
        let elapsed = started.elapsed();
        if response.status != 200 {
            bail!("invoke answered {}: {}", response.status, response.body);
        }
        Ok((elapsed, response.body))
    }

    /// The emulator's `INIT REPORT(durationMs: X)`: the function's init time.
    pub fn init_ms(&self) -> Option<f64> {
        const MARK: &str = "INIT REPORT(durationMs: ";
        let log = std::fs::read_to_string(&self.log).ok()?;
        let rest = &log[log.find(MARK)? + MARK.len()..];
        rest[..rest.find(')')?].trim().parse().ok()
    }

    /// Everything the emulator and the function wrote so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The emulator's process id (the function is one of its descendants).
    pub fn id(&self) -> u32 {
        self.process.id()
    }
}
