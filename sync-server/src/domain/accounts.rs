//! Accounts and devices: passwords, device tokens, and who a request is from.
//!
//! Passwords are hashed with Argon2id (a stolen database does not reveal them). A login from a
//! device returns a random 256-bit bearer token; the server keeps only its SHA-256, which is
//! enough for a secret that long and lets every request be checked with one indexed lookup.
//! Revoking the device (lost phone, worker leaves) makes the token useless at once.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use yijian_core::division::DivisionCode;
use yijian_core::ids::UserId;
use yijian_core::protocol::auth::Account;
use yijian_core::role::{Role, ScopeLevelMismatch, Staff};

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub scope: DivisionCode,
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("password", &"***")
            .finish()
    }
}

/// Why a user cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Scope(#[from] ScopeLevelMismatch),
    #[error("密码至少需要8位")]
    PasswordTooShort,
    #[error("登录手机号不正确：{0}")]
    Login(#[from] yijian_core::validation::MobileNumberError),
    #[error("姓名不能为空")]
    EmptyName,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

pub const MIN_PASSWORD_LEN: usize = 8;

impl AccountError {
    /// The message in English, for operators and API clients (`Display` is the Chinese one
    /// the people using the apps read).
    pub fn message_en(&self) -> String {
        use yijian_core::validation::MobileNumberError as M;
        match self {
            AccountError::Scope(m) => format!(
                "role {} needs a scope at {} level; \"{}\" is at {} level",
                role_key(m.role),
                level_en(m.expected),
                m.scope,
                level_en(m.actual)
            ),
            AccountError::PasswordTooShort => {
                format!("the password needs at least {MIN_PASSWORD_LEN} characters")
            }
            AccountError::Login(e) => {
                let why = match e {
                    M::Empty => "it is empty".to_owned(),
                    M::NotDigits(c) => format!("{c:?} is not a digit"),
                    M::WrongLength(n) => format!("it has {n} digits, not 11"),
                    M::BadFirstDigit => "it does not start with 1".to_owned(),
                    M::BadSecondDigit => "its second digit is not 3 to 9".to_owned(),
                    M::NotMainland => "it is not a mainland China number".to_owned(),
                };
                format!("the login is not a valid mobile number: {why}")
            }
            AccountError::EmptyName => "the name is empty".to_owned(),
            AccountError::Hash(e) => format!("password hashing failed: {e}"),
        }
    }
}

/// A role as it is spelt on the wire and in files (`village_worker`).
pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::VillageWorker => "village_worker",
        Role::Township => "township",
        Role::County => "county",
        Role::City => "city",
        Role::Province => "province",
        Role::DepartmentLiaison => "department_liaison",
        Role::Admin => "admin",
    }
}

fn level_en(level: yijian_core::division::Level) -> &'static str {
    use yijian_core::division::Level;
    match level {
        Level::Province => "province",
        Level::City => "city",
        Level::County => "county",
        Level::Township => "township",
        Level::Village => "village",
    }
}

impl NewUser {
    /// Check the fields without hashing (cheap, so a batch can be checked row by row before
    /// any password is hashed); the canonical login on success.
    pub fn check(&self) -> Result<String, AccountError> {
        let login = yijian_core::validation::MobileNumber::parse(&self.login)?;
        if self.name.trim().is_empty() {
            return Err(AccountError::EmptyName);
        }
        if self.password.chars().count() < MIN_PASSWORD_LEN {
            return Err(AccountError::PasswordTooShort);
        }
        Staff::new(self.role, self.scope.clone())?;
        Ok(login.as_str().to_owned())
    }

    /// Check the fields and hash the password.
    pub fn prepare(self) -> Result<(Account, String), AccountError> {
        let login = self.check()?;
        let hash = hash_password(&self.password)?;
        Ok((
            Account {
                id: UserId::new(),
                login,
                name: self.name.trim().to_owned(),
                role: self.role,
                scope: self.scope,
            },
            hash,
        ))
    }
}

/// Argon2id hash in PHC string form.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches a stored hash. A malformed stored hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password nobody knows, checked against when a login is unknown, so that
/// answering "wrong login" takes as long as "wrong password".
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 16];
        let _ = getrandom::fill(&mut pw);
        hash_password(&hex::encode(pw)).unwrap_or_default()
    })
}

/// A fresh bearer token (64 hex characters) and the hash to store.
pub fn new_device_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What is stored for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_only_the_same_password() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(h, hash_password("correct horse").expect("hash"), "salted");
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (t1, h1) = new_device_token().expect("token");
        let (t2, _) = new_device_token().expect("token");
        assert_eq!(t1.len(), 64);
        assert_ne!(t1, t2);
        assert_eq!(token_hash(&t1), h1);
        assert_ne!(h1, t1);
    }

    #[test]
    fn role_keys_are_the_serde_names() {
        for role in Role::ALL {
            assert_eq!(
                serde_json::to_value(role).expect("serializes"),
                serde_json::Value::String(role_key(role).to_owned())
            );
        }
    }

    #[test]
    fn errors_have_english_messages() {
        let e = NewUser {
            login: "138".into(),
            name: "x".into(),
            role: Role::Admin,
            scope: DivisionCode::parse("62").expect("code"),
            password: "long enough".into(),
        }
        .check()
        .expect_err("short login");
        assert_eq!(
            e.message_en(),
            "the login is not a valid mobile number: it has 3 digits, not 11"
        );
        let e = Staff::new(Role::Township, DivisionCode::parse("6211").expect("code"))
            .map_err(AccountError::from)
            .expect_err("wrong level");
        assert_eq!(
            e.message_en(),
            "role township needs a scope at township level; \"6211\" is at city level"
        );
    }

    #[test]
    fn new_user_checks_scope_password_and_login() {
        let ok = NewUser {
            login: "138 0000 0001".into(),
            name: "张网格".into(),
            role: Role::VillageWorker,
            scope: DivisionCode::parse("621102105201").expect("code"),
            password: "village-pass".into(),
        };
        let (user, hash) = ok.clone().prepare().expect("valid");
        assert_eq!(user.login, "13800000001");
        assert!(verify_password("village-pass", &hash));
        let wrong_scope = NewUser {
            scope: DivisionCode::parse("6211").expect("code"),
            ..ok.clone()
        };
        assert!(matches!(wrong_scope.prepare(), Err(AccountError::Scope(_))));
        let short = NewUser {
            password: "short".into(),
            ..ok.clone()
        };
        assert!(matches!(
            short.prepare(),
            Err(AccountError::PasswordTooShort)
        ));
        assert!(!format!("{ok:?}").contains("village-pass"));
    }
}
