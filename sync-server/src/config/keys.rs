//! Keys of the configuration, derived from its declaration.
//!
//! The fields of [`Config`] are the keys: serialising the defaults (with every optional key
//! shown as `null`) lists them with their JSON types, which is all the environment layer needs
//! to name a key's variable and to read the variable's text as the key's value. Nothing here
//! lists a key by hand except the two log variables whose short names predate the scheme.

use serde_json::Value;

use super::{Config, Env};

/// Keys whose variable is not the derived `YIJIAN_SECTION__KEY` name (kept for existing
/// installations).
const SHORT_NAMES: &[(&str, &str)] = &[
    ("log.level", "YIJIAN_LOG"),
    ("log.format", "YIJIAN_LOG_FORMAT"),
];

/// Every key as a dotted path (`sync.max_pull_limit`), in declaration order of sections.
pub fn all() -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut out = Vec::new();
    walk("", &defaults(), &mut out);
    out
}

/// The defaults as JSON: optional keys are `null`, not left out.
fn defaults() -> Value {
    serde_json::to_value(Config::default()).unwrap_or(Value::Null)
}

/// The environment variable of a key: `YIJIAN_` and the key in upper case, a section joined to
/// its key by a double underscore (keys contain single underscores).
pub fn env_var(key: &str) -> String {
    match SHORT_NAMES.iter().find(|(k, _)| *k == key) {
        Some((_, var)) => (*var).to_owned(),
        None => format!("YIJIAN_{}", key.to_uppercase().replace('.', "__")),
    }
}

/// `(variable, key)` for every key.
pub fn env_vars() -> Vec<(String, String)> {
    all().into_iter().map(|k| (env_var(&k), k)).collect()
}

/// Section-style variables (`YIJIAN_X__Y`) that configure nothing: most likely typos, worth a
/// warning (other `YIJIAN_*` variables belong to other tools and are left alone).
pub fn unknown_env_vars(env: &Env) -> Vec<&str> {
    let known = env_vars();
    env.keys()
        .map(String::as_str)
        .filter(|name| name.starts_with("YIJIAN_") && name.contains("__"))
        .filter(|name| !known.iter().any(|(var, _)| var == name))
        .collect()
}

/// `config` with `key` set from its text form (as an environment variable gives it): a number
/// where the key holds a number, `true`/`false`/`1`/`0` where it holds a switch, the text
/// otherwise. The key's own type then checks the value (a `NonZero…` limit refuses 0).
pub fn set(config: &Config, key: &str, text: &str) -> Result<Config, String> {
    let mut value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    let default = lookup(&defaults(), key)
        .cloned()
        .ok_or_else(|| format!("no such key {key}"))?;
    let parsed = match default {
        Value::Number(_) => Value::Number(
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("expected a whole number, got {text:?}"))?
                .into(),
        ),
        Value::Bool(_) => Value::Bool(match text {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(format!("expected true or false, got {text:?}")),
        }),
        _ => Value::String(text.to_owned()),
    };
    let slot = lookup_mut(&mut value, key).ok_or_else(|| format!("no such key {key}"))?;
    *slot = parsed;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn lookup<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(value, |v, part| v.get(part))
}

fn lookup_mut<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    key.split('.').try_fold(value, |v, part| v.get_mut(part))
}
