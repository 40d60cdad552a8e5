use crate::ServerSettings;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

#[test]
fn postgres_url_selects_postgres_and_is_redacted() {
    let c = Config::new(
        addr("127.0.0.1:0"),
        "d".into(),
        Some("postgres://yijian:s3cret@127.0.0.1:5432/yijian".into()),
    )
    .expect("valid");
    assert_eq!(
        c.database().expect("postgres"),
        DatabaseLocation::Postgres {
            url: "postgres://yijian:s3cret@127.0.0.1:5432/yijian".into()
        }
    );
    let shown = format!("{c:?} {:?}", c.database().expect("postgres"));
    assert!(shown.contains("postgres://yijian:***@127.0.0.1:5432/yijian"));
    assert!(!shown.contains("s3cret"), "{shown}");
    let pgsql = Config::new(
        addr("127.0.0.1:0"),
        "d".into(),
        Some("postgresql://u@h/db".into()),
    )
    .expect("postgresql:// is accepted too");
    assert!(matches!(
        pgsql.database(),
        Ok(DatabaseLocation::Postgres { .. })
    ));
}

#[test]
fn redaction_covers_awkward_passwords() {
    assert_eq!(
        redact_url("postgres://u:p@ss@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
    assert_eq!(
        redact_url("postgres://u@h/db?sslmode=require&password=hunter2"),
        "postgres://u:***@h/db?sslmode=require&password=***"
    );
    assert_eq!(redact_url("host=h password=x"), "***");
    assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
}

#[test]
fn other_urls_are_refused_clearly() {
    let e = Config::new(
        addr("127.0.0.1:0"),
        "d".into(),
        Some("mysql://root:pw@x/db".into()),
    )
    .expect_err("refused");
    assert!(e.to_string().contains("use postgres://"));
    assert!(!e.to_string().contains("pw"));
}

#[test]
fn default_is_sqlite_in_data_dir() {
    let c = Config::new(addr("127.0.0.1:0"), "x".into(), None).expect("ok");
    assert_eq!(
        c.database().expect("sqlite"),
        DatabaseLocation::Sqlite {
            data_dir: "x".into()
        }
    );
    assert_eq!(c.blob_dir(), PathBuf::from("x").join("blobs"));
}

#[test]
fn defaults_match_the_handlers_defaults() {
    let d = Config::default();
    assert_eq!(d.listen, addr(Config::DEFAULT_LISTEN));
    assert_eq!(d.sync.max_body_bytes.get(), 32 * 1024 * 1024);
    assert_eq!(d.blobs.max_bytes.get(), 10 * 1024 * 1024);
    let s = d.server_settings();
    let base = ServerSettings::default();
    assert_eq!(s.max_push_commands, base.max_push_commands);
    assert_eq!(s.max_pull_limit, base.max_pull_limit);
    assert_eq!(s.max_body_bytes, base.max_body_bytes);
    assert_eq!(s.accept_raw_documents, base.accept_raw_documents);
    assert_eq!(s.max_blob_bytes, base.max_blob_bytes);
    assert_eq!(s.blob_idle_timeout, base.blob_idle_timeout);
}

/// Each layer wins over the ones below it, key by key: what a higher layer leaves out
/// still comes from below.
#[test]
fn layers_override_in_order_default_file_env_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("server.toml");
    std::fs::write(
        &file,
        r#"
listen = "127.0.0.1:1001"
data_dir = "/from/file"
[sync]
max_pull_limit = 111
max_push_commands = 222
[log]
format = "json"
"#,
    )
    .expect("write");
    let env = env(&[
        ("YIJIAN_CONFIG", file.to_str().expect("utf-8 path")),
        ("YIJIAN_LISTEN", "127.0.0.1:2002"),
        ("YIJIAN_DATA_DIR", "/from/env"),
        ("YIJIAN_SYNC__MAX_PULL_LIMIT", "333"),
        ("YIJIAN_LOG", "debug"),
    ]);
    let flags = Overrides {
        listen: Some(addr("127.0.0.1:3003")),
        ..Overrides::default()
    };
    let c = Config::load(&flags, &env).expect("load");
    assert_eq!(c.listen, addr("127.0.0.1:3003"), "flag beats env and file");
    assert_eq!(c.data_dir, PathBuf::from("/from/env"), "env beats file");
    assert_eq!(c.sync.max_pull_limit.get(), 333, "env beats file");
    assert_eq!(c.sync.max_push_commands.get(), 222, "file beats default");
    assert_eq!(c.log.format, LogFormat::Json, "file beats default");
    assert_eq!(c.log.level, "debug", "env beats default");
    assert_eq!(
        c.sync.max_body_bytes,
        Config::default().sync.max_body_bytes,
        "default where no layer speaks"
    );

    // Without the env layer the file shows through; without the file, the defaults.
    let only_file = Config::load(
        &Overrides {
            config_file: Some(file.clone()),
            ..Overrides::default()
        },
        &Env::new(),
    )
    .expect("load");
    assert_eq!(only_file.listen, addr("127.0.0.1:1001"));
    assert_eq!(only_file.data_dir, PathBuf::from("/from/file"));
    assert_eq!(
        Config::load(&Overrides::default(), &Env::new()).expect("load"),
        Config::default()
    );
}

#[test]
fn config_flag_wins_over_config_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::fs::write(&a, "data_dir = \"/a\"\n").expect("write");
    std::fs::write(&b, "data_dir = \"/b\"\n").expect("write");
    let env = env(&[("YIJIAN_CONFIG", a.to_str().expect("utf-8"))]);
    let flags = Overrides {
        config_file: Some(b),
        ..Overrides::default()
    };
    let c = Config::load(&flags, &env).expect("load");
    assert_eq!(c.data_dir, PathBuf::from("/b"));
}

#[test]
fn database_url_layers_and_empty_variable_counts_as_unset() {
    let env_pg = env(&[("YIJIAN_DATABASE_URL", "postgres://u:envpw@h/db")]);
    let c = Config::load(&Overrides::default(), &env_pg).expect("load");
    assert!(matches!(
        c.database(),
        Ok(DatabaseLocation::Postgres { url }) if url == "postgres://u:envpw@h/db"
    ));
    assert!(!format!("{c:?}").contains("envpw"));

    let flag = Overrides {
        database_url: Some(DatabaseUrl::new("postgres://u:flagpw@h/db")),
        ..Overrides::default()
    };
    let c = Config::load(&flag, &env_pg).expect("load");
    assert!(matches!(
        c.database(),
        Ok(DatabaseLocation::Postgres { url }) if url.contains("flagpw")
    ));
    assert!(!format!("{flag:?}").contains("flagpw"));

    let empty = env(&[("YIJIAN_DATABASE_URL", "")]);
    let c = Config::load(&Overrides::default(), &empty).expect("load");
    assert!(matches!(c.database(), Ok(DatabaseLocation::Sqlite { .. })));
}

#[test]
fn unknown_key_in_file_is_an_error_naming_it() {
    let text = "listen = \"127.0.0.1:8080\"\n\n[sync]\nmax_pul_limit = 10\n";
    let e = Config::from_toml(text, Path::new("s.toml")).expect_err("typo refused");
    let shown = e.to_string();
    assert!(shown.contains("max_pul_limit"), "{shown}");
    assert!(shown.contains("s.toml, line 4"), "{shown}");

    let e = Config::from_toml("[smtp]\nkey = 1\n", Path::new("s.toml")).expect_err("no [smtp]");
    assert!(e.to_string().contains("smtp"), "{e}");
    let e = Config::from_toml("[sms]\nkey = 1\n", Path::new("s.toml")).expect_err("no sms.key");
    assert!(e.to_string().contains("key"), "{e}");
}

#[test]
fn parse_errors_do_not_quote_the_password_line() {
    let text = "database_url = \"postgres://u:hunter2@h/db\" oops\n";
    let e = Config::from_toml(text, Path::new("s.toml")).expect_err("bad syntax");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = Config::from_toml("database_url = \"mysql://u:hunter2@h/db\"", Path::new("s"))
        .expect("parses")
        .validate()
        .expect_err("refused");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn bad_values_name_their_variable_or_key() {
    let e = Config::load(
        &Overrides::default(),
        &env(&[("YIJIAN_SYNC__MAX_PULL_LIMIT", "lots")]),
    )
    .expect_err("not a number");
    assert!(e.to_string().contains("YIJIAN_SYNC__MAX_PULL_LIMIT"), "{e}");
    let e = Config::load(&Overrides::default(), &env(&[("YIJIAN_LOG_FORMAT", "xml")]))
        .expect_err("no such format");
    assert!(e.to_string().contains("text or json"), "{e}");
    let e = Config::load(
        &Overrides::default(),
        &env(&[("YIJIAN_SYNC__MAX_PUSH_COMMANDS", "0")]),
    )
    .expect_err("zero refused");
    assert!(e.to_string().contains("sync.max_push_commands"), "{e}");
    let e =
        Config::from_toml("[log]\nformat = \"xml\"\n", Path::new("s")).expect_err("no such format");
    assert!(e.to_string().contains("xml"), "{e}");
}

#[test]
fn section_style_typos_in_the_environment_are_reported() {
    let e = env(&[
        ("YIJIAN_SYNC__MAX_PUL_LIMIT", "1"),
        ("YIJIAN_SYNC__MAX_PULL_LIMIT", "1"),
        ("YIJIAN_PG_BINDIR", "/usr/lib/postgresql/16/bin"),
    ]);
    assert_eq!(unknown_env_vars(&e), vec!["YIJIAN_SYNC__MAX_PUL_LIMIT"]);
}

/// Every key, as a dotted path, of a configuration with every optional key set.
fn all_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => walk(&key, t, out),
                _ => {
                    out.insert(key);
                }
            }
        }
    }
    let full = Config {
        database_url: Some(DatabaseUrl::new("postgres://h/db")),
        blobs: BlobConfig {
            dir: Some("b".into()),
            s3_secret_access_key: Some("s".into()),
            ..BlobConfig::default()
        },
        public: PublicConfig {
            base_url: Some("https://x".into()),
            ..PublicConfig::default()
        },
        sms: SmsConfig {
            log_file: Some("s.log".into()),
            aliyun_access_key_secret: Some("s".into()),
            ..SmsConfig::default()
        },
        ..Config::default()
    };
    let toml::Value::Table(table) = toml::Value::try_from(&full).expect("serializes") else {
        panic!("a configuration serializes to a table");
    };
    let mut out = BTreeSet::new();
    walk("", &table, &mut out);
    out
}

#[test]
fn every_key_has_one_environment_variable() {
    let vars = env_vars();
    let from_table: BTreeSet<String> = vars.iter().map(|(_, k)| k.clone()).collect();
    assert_eq!(from_table, all_keys());
    assert_eq!(from_table.len(), vars.len(), "a key listed twice");
    let names: BTreeSet<&String> = vars.iter().map(|(v, _)| v).collect();
    assert_eq!(names.len(), vars.len(), "a variable names two keys");
    // And `set` understands each of them.
    for (var, key) in &vars {
        let value = match key.as_str() {
            "listen" => "127.0.0.1:1",
            "log.format" => "json",
            "sync.accept_raw_documents"
            | "public.trust_forwarded_for"
            | "security.secure_cookies" => "true",
            "sms.provider" => "aliyun",
            "public.base_url" => "https://yjsb.example.cn",
            "database_url" => "postgres://h/db",
            "log.level" => "debug",
            _ => "7",
        };
        let c = keys::set(&Config::default(), key, value)
            .unwrap_or_else(|e| panic!("{var} → {key}: {e}"));
        assert_ne!(c, Config::default(), "{var} changed nothing");
    }
}

#[test]
fn example_file_is_the_defaults() {
    let parsed = Config::from_toml(EXAMPLE_CONFIG, Path::new("yijian-server.example.toml"))
        .expect("example parses");
    assert_eq!(parsed, Config::default());
    parsed.validate().expect("example is valid");
}

/// Every key appears in the example, set or (for keys without a fixed default) commented
/// out, in its section, next to its environment variable.
#[test]
fn example_file_documents_every_key_and_variable() {
    let mut documented = BTreeSet::new();
    let mut section = String::new();
    for line in EXAMPLE_CONFIG.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let body = line.strip_prefix('#').map_or(line, str::trim_start);
        if let Some((key, _)) = body.split_once('=') {
            let key = key.trim();
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                documented.insert(if section.is_empty() {
                    key.to_owned()
                } else {
                    format!("{section}.{key}")
                });
            }
        }
    }
    let missing: Vec<_> = all_keys().difference(&documented).cloned().collect();
    assert!(
        missing.is_empty(),
        "keys missing from the example: {missing:?}"
    );
    for (var, key) in env_vars() {
        assert!(
            EXAMPLE_CONFIG.contains(&var),
            "{var} ({key}) not mentioned in the example"
        );
    }
    assert!(EXAMPLE_CONFIG.contains(CONFIG_FILE_VAR));
}

#[test]
fn the_s3_backend_needs_its_bucket_and_keys_and_never_prints_the_secret() {
    let mut c = Config::default();
    c.blobs.backend = "s3".into();
    let err = c.validate().expect_err("incomplete");
    let text = err.to_string();
    assert!(
        text.contains("blobs.s3_bucket") && text.contains("blobs.s3_secret_access_key"),
        "{text}"
    );
    c.blobs.s3_bucket = "photos".into();
    c.blobs.s3_access_key_id = "AKID".into();
    c.blobs.s3_secret_access_key = Some("very-secret-key".into());
    c.validate().expect("complete");
    assert!(!format!("{c:?}").contains("very-secret-key"));
    c.blobs.backend = "ftp".into();
    assert!(c.validate().is_err());
}
