//! The default provider: each text becomes one JSON line in a file, which the console shows.
//!
//! For a county that has not yet signed up with an SMS provider, and for development: nothing
//! leaves the machine, and every text the system would have sent can be read in the console
//! (系统管理 → 短信记录) and in `data/sms.log`.

use std::io::Write;
use std::path::PathBuf;

use super::{SmsError, SmsProvider};
use crate::store::rows::NewSms;

/// Appends texts to a file.
#[derive(Debug, Clone)]
pub struct LogProvider {
    path: PathBuf,
}

impl LogProvider {
    pub fn new(path: PathBuf) -> LogProvider {
        LogProvider { path }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The last `n` lines of the log, newest last.
    pub fn tail(&self, n: usize) -> Vec<serde_json::Value> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

#[async_trait::async_trait]
impl SmsProvider for LogProvider {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, sms: &NewSms) -> Result<Option<String>, SmsError> {
        let line = serde_json::json!({
            "at": chrono::Utc::now(),
            "out_id": sms.out_id,
            "phone": sms.phone,
            "template": sms.template,
            "text": sms.text_zh,
        })
        .to_string();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            writeln!(f, "{line}")
        })
        .await
        .map_err(|e| SmsError::Transient(e.to_string()))?
        .map_err(|e| SmsError::Transient(format!("{}: {e}", self.path.display())))?;
        Ok(None)
    }

    async fn was_sent(&self, sms: &NewSms) -> Result<bool, SmsError> {
        let needle = format!("\"out_id\":\"{}\"", sms.out_id);
        let path = self.path.clone();
        Ok(tokio::task::spawn_blocking(move || {
            std::fs::read_to_string(path).is_ok_and(|t| t.contains(&needle))
        })
        .await
        .unwrap_or(false))
    }
}
