//! Every process the tests start writes its output to a file in one folder (`SMCP_LOGS`, set by
//! `cargo xtask test`), and every secret the tests create is written down there too; after
//! the run, [`scan`] reads every log for every secret. A leak names the file and the secret's
//! length, never the secret.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicUsize, Ordering},
};

/// The file that lists the secrets, one per line (only test secrets ever go there).
pub const SECRETS_FILE: &str = "secrets.list";
/// Shorter values are not secrets worth a search (and would match ordinary words).
const MIN_SECRET_LEN: usize = 12;

fn folder() -> Option<PathBuf> {
    std::env::var_os("SMCP_LOGS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// A new log file named after `name` for a child's stdout or stderr; discarded output when
/// `SMCP_LOGS` is not set.
pub fn log_file(name: &str) -> Stdio {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let Some(dir) = folder() else {
        return Stdio::null();
    };
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{name}-{}-{n}.log", std::process::id()));
    std::fs::File::create(path).map_or_else(|_| Stdio::null(), Stdio::from)
}

/// Writes `value` down as a secret the logs must never contain.
pub fn register_secret(value: &str) {
    let Some(dir) = folder() else { return };
    if value.len() < MIN_SECRET_LEN || value.contains('\n') {
        return;
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(SECRETS_FILE))
    {
        let _ = writeln!(file, "{value}");
    }
}

/// Registers the values of environment variables that hold keys, secrets or tokens.
pub fn register_secrets_in_env<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (name, value) in env {
        let name = name.to_ascii_uppercase();
        if ["KEY", "SECRET", "TOKEN", "PASSWORD"]
            .iter()
            .any(|word| name.contains(word))
            && !name.ends_with("_ID")
        {
            register_secret(value);
        }
    }
}

/// What [`scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    pub files: usize,
    pub bytes: u64,
    pub secrets: usize,
    /// `file: a N-byte secret` for each secret found in a file.
    pub leaks: Vec<String>,
}

/// Searches every file in `dir` (but the secrets list) for every registered secret.
pub fn scan(dir: &Path) -> std::io::Result<Scan> {
    let listed = std::fs::read_to_string(dir.join(SECRETS_FILE)).unwrap_or_default();
    let mut secrets: Vec<&str> = listed.lines().filter(|l| !l.is_empty()).collect();
    secrets.sort_unstable();
    secrets.dedup();
    let mut scan = Scan {
        secrets: secrets.len(),
        ..Scan::default()
    };
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_file() || path.file_name().is_some_and(|n| n == SECRETS_FILE) {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        scan.files += 1;
        scan.bytes += bytes.len() as u64;
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            if text.contains(secret) {
                scan.leaks.push(format!(
                    "{}: a {}-byte secret",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    secret.len()
                ));
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_a_registered_secret_and_names_only_its_length() {
        let dir = std::env::temp_dir().join(format!("smcp-logs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(SECRETS_FILE),
            "super-secret-value-1\nanother-secret-22\n",
        )
        .unwrap();
        std::fs::write(dir.join("a.log"), "line\nkey=super-secret-value-1\n").unwrap();
        std::fs::write(dir.join("b.log"), "nothing here\n").unwrap();
        let scan = scan(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((scan.files, scan.secrets), (2, 2));
        assert_eq!(scan.leaks, vec!["a.log: a 20-byte secret".to_string()]);
    }
}
