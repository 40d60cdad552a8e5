//! Administration from the command line: the first administrator, users in bulk from a CSV
//! file, and revoking a lost device, for the hours before the web console exists or when it
//! is out of reach.
//!
//! A user import is all or nothing at the checking stage: every row is checked first (login,
//! name, role, scope, password, duplicates within the file and against the database) and
//! *all* bad rows are reported with their line numbers, in Chinese for the county staff who
//! prepared the sheet and in English for the operator, before anything is written. Passwords
//! are hashed only once every row is known good, since Argon2 is deliberately slow.
//!
//! The CSV file has a header line naming the columns `login,name,role,scope,password` (in any
//! order); fields may be quoted (`"…"`, with `""` for a quote inside); a field cannot span
//! lines. Roles are spelt in snake_case (`village_worker`, `township`, `county`, `city`,
//! `province`, `department_liaison`, `admin`). Whitespace around fields is ignored except in
//! the password, which is taken exactly as written.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde::de::IntoDeserializer;
use yijian_core::division::{DivisionCode, DivisionCodeError};
use yijian_core::role::Role;

use crate::domain::accounts::{AccountError, NewUser};
use crate::store::{Storage, StorageError};
use yijian_core::protocol::auth::Account;

/// The columns of a user file, as its header names them.
pub const CSV_COLUMNS: [&str; 5] = ["login", "name", "role", "scope", "password"];

/// What is wrong with one line of a user file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    pub message: String,
    pub message_en: String,
}

impl RowError {
    fn new(line: usize, zh: impl Into<String>, en: impl Into<String>) -> RowError {
        RowError {
            line,
            message: zh.into(),
            message_en: en.into(),
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "第{}行：{} / line {}: {}",
            self.line, self.message, self.line, self.message_en
        )
    }
}

/// One user created by an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedUser {
    pub line: usize,
    #[serde(flatten)]
    pub user: Account,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} bad row(s) in the user file; nothing was imported", .0.len())]
    BadRows(Vec<RowError>),
    /// The database refused the users after the check (e.g. another import took a login
    /// meanwhile, or the database failed); the transaction wrote nobody.
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// A row that passed every check.
struct CheckedRow {
    line: usize,
    user: NewUser,
}

/// Check the user file `text`, then create every user in it, in file order.
pub async fn import_users(
    storage: &Arc<dyn Storage>,
    text: &str,
) -> Result<Vec<ImportedUser>, ImportError> {
    let existing: HashSet<String> = storage
        .list_users()
        .await?
        .into_iter()
        .map(|u| u.login)
        .collect();
    let rows = check_users_csv(text, &existing).map_err(ImportError::BadRows)?;
    let prepared = tokio::task::spawn_blocking(move || hash_all(rows))
        .await
        .map_err(|e| ImportError::Hash(e.to_string()))??;
    // One transaction: a database failure part-way imports nobody.
    let users: Vec<(Account, String)> = prepared
        .iter()
        .map(|(_, user, hash)| (user.clone(), hash.clone()))
        .collect();
    storage.create_users(users).await?;
    Ok(prepared
        .into_iter()
        .map(|(line, user, _)| ImportedUser { line, user })
        .collect())
}

/// Create the administrator: role `admin`, scope `62` (the whole province).
pub async fn create_admin(
    storage: &Arc<dyn Storage>,
    login: &str,
    name: &str,
    password: String,
) -> anyhow::Result<Account> {
    let new = NewUser {
        login: login.to_owned(),
        name: name.to_owned(),
        role: Role::Admin,
        scope: DivisionCode::parse("62")?,
        password,
    };
    let (user, hash) = tokio::task::spawn_blocking(move || new.prepare())
        .await?
        .map_err(|e| anyhow::anyhow!("{e} / {}", e.message_en()))?;
    storage
        .create_user(&user, &hash)
        .await
        .map_err(|e| match e {
            StorageError::Duplicate(_) => anyhow::anyhow!(
                "登录手机号{0}已被使用 / login {0} already exists",
                user.login
            ),
            e => e.into(),
        })?;
    Ok(user)
}

/// Parse and check every row of a user file; all problems, or every row ready to hash.
/// `existing` holds the logins already in the database.
fn check_users_csv(
    text: &str,
    existing: &HashSet<String>,
) -> Result<Vec<CheckedRow>, Vec<RowError>> {
    // Excel writes a byte-order mark at the start of "CSV UTF-8" files.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(vec![header_error(1)]);
    };
    let columns = match split_csv_line(header) {
        Ok(fields) => column_positions(&fields).ok_or_else(|| vec![header_error(header_line)])?,
        Err(e) => {
            return Err(vec![RowError {
                line: header_line,
                ..e
            }]);
        }
    };

    let mut errors = Vec::new();
    let mut rows = Vec::new();
    // Canonical login → line where it first appears.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, text) in lines {
        let fields = match split_csv_line(text) {
            Ok(f) => f,
            Err(e) => {
                errors.push(RowError { line, ..e });
                continue;
            }
        };
        if fields.len() != CSV_COLUMNS.len() {
            errors.push(RowError::new(
                line,
                format!("应有{}列，实有{}列", CSV_COLUMNS.len(), fields.len()),
                format!(
                    "expected {} columns, found {}",
                    CSV_COLUMNS.len(),
                    fields.len()
                ),
            ));
            continue;
        }
        let field = |name: &str| -> String {
            let i = CSV_COLUMNS
                .iter()
                .position(|c| *c == name)
                .and_then(|c| columns.get(c).copied())
                .unwrap_or_default();
            fields.get(i).cloned().unwrap_or_default()
        };
        let row_errors_before = errors.len();
        let role_text = field("role").trim().to_owned();
        let role = match parse_role(&role_text) {
            Some(r) => Some(r),
            None => {
                errors.push(RowError::new(
                    line,
                    format!("角色“{role_text}”无效，应为 {}", ROLE_LIST),
                    format!("unknown role {role_text:?}; use one of {ROLE_LIST}"),
                ));
                None
            }
        };
        let scope = match DivisionCode::parse(&field("scope")) {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(RowError::new(line, e.to_string(), division_error_en(&e)));
                None
            }
        };
        // With the role or scope unusable, the rest of the row is still checked (so one round
        // of corrections fixes it) as an administrator's, the one role that fits any scope.
        let (role, scope) = match (role, scope) {
            (Some(role), Some(scope)) => (role, scope),
            (_, scope) => match scope.or_else(|| DivisionCode::parse("62").ok()) {
                Some(scope) => (Role::Admin, scope),
                None => continue,
            },
        };
        let user = NewUser {
            login: field("login").trim().to_owned(),
            name: field("name").trim().to_owned(),
            role,
            scope,
            password: field("password"),
        };
        let login = match user.check() {
            Ok(login) => login,
            Err(e) => {
                errors.push(account_error(line, &e));
                continue;
            }
        };
        if let Some(first) = seen.get(&login) {
            errors.push(RowError::new(
                line,
                format!("登录手机号{login}与第{first}行重复"),
                format!("login {login} is already used on line {first}"),
            ));
        } else if existing.contains(&login) {
            errors.push(RowError::new(
                line,
                format!("登录手机号{login}已存在于系统中"),
                format!("login {login} already exists in the database"),
            ));
        }
        seen.entry(login).or_insert(line);
        if errors.len() == row_errors_before {
            rows.push(CheckedRow { line, user });
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Hash every password, on all cores: Argon2 takes tens of milliseconds per password by
/// design, and a county imports hundreds of users at once.
fn hash_all(rows: Vec<CheckedRow>) -> Result<Vec<(usize, Account, String)>, ImportError> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = rows.len().div_ceil(threads).max(1);
    let mut rows = rows;
    let mut chunks = Vec::new();
    while !rows.is_empty() {
        let rest = rows.split_off(chunk.min(rows.len()));
        chunks.push(std::mem::replace(&mut rows, rest));
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|row| {
                            let (user, hash) = row
                                .user
                                .prepare()
                                .map_err(|e| ImportError::Hash(e.message_en()))?;
                            Ok((row.line, user, hash))
                        })
                        .collect::<Result<Vec<_>, ImportError>>()
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| ImportError::Hash("hashing thread panicked".into()))??,
            );
        }
        Ok(out)
    })
}

const ROLE_LIST: &str =
    "village_worker, township, county, city, province, department_liaison, admin";

/// The role spelt as on the wire (`village_worker`), parsed through serde so the spelling
/// has one source.
pub fn parse_role(s: &str) -> Option<Role> {
    use serde::Deserialize;
    let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = s.into_deserializer();
    Role::deserialize(d).ok()
}

fn header_error(line: usize) -> RowError {
    let want = CSV_COLUMNS.join(",");
    RowError::new(
        line,
        format!("第一行应为表头：{want}"),
        format!("the first line must be the header {want}"),
    )
}

/// Where each of [`CSV_COLUMNS`] is in the header, if the header names each exactly once.
fn column_positions(header: &[String]) -> Option<Vec<usize>> {
    if header.len() != CSV_COLUMNS.len() {
        return None;
    }
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    CSV_COLUMNS
        .iter()
        .map(|c| names.iter().position(|n| n == c))
        .collect()
}

fn account_error(line: usize, e: &AccountError) -> RowError {
    RowError::new(line, e.to_string(), e.message_en())
}

fn division_error_en(e: &DivisionCodeError) -> String {
    match e {
        DivisionCodeError::Empty => "the scope (division code) is empty".into(),
        DivisionCodeError::NotDigits(c) => format!("division code {c:?} has non-digits"),
        DivisionCodeError::BadLength { code, len } => {
            format!("division code {code:?} has {len} digits; it needs 2, 4, 6, 9 or 12")
        }
        DivisionCodeError::BadProvince(c) => {
            format!("division code {c:?} has no valid province prefix (11 to 82)")
        }
        DivisionCodeError::ZeroSegment(c) => {
            format!("division code {c:?} has an all-zero lower segment")
        }
    }
}

/// Split one CSV line into fields (RFC 4180 quoting, without fields spanning lines).
fn split_csv_line(line: &str) -> Result<Vec<String>, RowError> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        // Leading spaces before an opening quote are tolerated, as spreadsheets write them.
        while chars.peek() == Some(&' ') {
            field.push(' ');
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            field.clear();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        return Err(RowError::new(
                            0,
                            "引号未闭合（字段不能跨行）",
                            "unclosed quote (a field cannot span lines)",
                        ));
                    }
                }
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => {
                    return Err(RowError::new(
                        0,
                        "引号后应为逗号",
                        "expected a comma after a closing quote",
                    ));
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "login,name,role,scope,password\n";

    fn check(text: &str) -> Result<Vec<CheckedRow>, Vec<RowError>> {
        check_users_csv(text, &HashSet::new())
    }

    #[test]
    fn good_file_checks_every_row() {
        let rows = check(&format!(
            "\u{feff}{HEADER}13800000001,张网格,village_worker,621102105201,village-pass\r\n\
             \n\
             13800000002,\"李, 乡镇\",township,621102105,\"pa\"\"ss,word\"\n"
        ))
        .expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 4, "blank lines keep their numbers");
        assert_eq!(rows[1].user.name, "李, 乡镇");
        assert_eq!(rows[1].user.password, "pa\"ss,word");
    }

    #[test]
    fn columns_may_come_in_any_order() {
        let rows =
            check("password,scope,role,name,login\nvillage-pass,62,admin,管理员,13800000009\n")
                .expect("valid");
        assert_eq!(rows[0].user.login, "13800000009");
        assert_eq!(rows[0].user.role, Role::Admin);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let errors = match check(&format!(
            "{HEADER}13800000001,张网格,village_worker,621102105201,village-pass\n\
             12345,王,township,621102105,long-enough\n\
             13800000003,赵,mayor,6211021,short\n\
             13800000001,重复,admin,62,long-enough\n\
             13800000004,钱,county,62\n\
             13800000005,\"孙,county,621102,long-enough\n"
        )) {
            Err(errors) => errors,
            Ok(_) => panic!("bad rows accepted"),
        };
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 4, 4, 5, 6, 7], "{errors:#?}");
        let en: Vec<&str> = errors.iter().map(|e| e.message_en.as_str()).collect();
        assert!(en[0].contains("mobile number"), "{en:?}");
        assert!(en[1].contains("unknown role \"mayor\""), "{en:?}");
        assert!(en[2].contains("7 digits"), "{en:?}");
        assert!(en[3].contains("at least 8"), "{en:?}");
        assert!(errors[4].message.contains("与第2行重复"));
        assert!(en[5].contains("expected 5 columns, found 4"), "{en:?}");
        assert!(en[6].contains("unclosed quote"), "{en:?}");
        assert_eq!(
            errors[4].to_string(),
            "第5行：登录手机号13800000001与第2行重复 / line 5: login 13800000001 is already used on line 2"
        );
    }

    #[test]
    fn logins_already_in_the_database_are_refused() {
        let existing: HashSet<String> = ["13800000001".to_owned()].into();
        let errors = match check_users_csv(
            &format!("{HEADER}138 0000 0001,张,admin,62,long-enough\n"),
            &existing,
        ) {
            Err(e) => e,
            Ok(_) => panic!("duplicate accepted"),
        };
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message_en.contains("already exists"),
            "{errors:?}"
        );
    }

    #[test]
    fn header_is_required() {
        for text in [
            "",
            "13800000001,张,admin,62,long-enough\n",
            "login,name,role\n",
        ] {
            let errors = match check(text) {
                Err(e) => e,
                Ok(_) => panic!("accepted {text:?}"),
            };
            assert_eq!(errors[0].line, 1);
            assert!(errors[0].message_en.contains("header"), "{errors:?}");
        }
    }

    #[test]
    fn passwords_are_never_echoed_in_errors() {
        let errors = match check(&format!("{HEADER}13800000001,张,admin,62,secret7\n")) {
            Err(e) => e,
            Ok(_) => panic!("short password accepted"),
        };
        assert!(!errors[0].to_string().contains("secret7"));
        assert!(errors[0].message_en.contains("at least 8"));
    }
}
