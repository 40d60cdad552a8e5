//! Schema migrations as data: which migrations exist, which a database has, which to apply.
//!
//! The device and the server each keep their schema in numbered SQL files under
//! `migrations/` (one folder per database). Running SQL is the callers' business; deciding what
//! to run is not, and getting it wrong loses data, so it is written once here: migrations are
//! applied in version order, a migration is never edited after it was applied (its checksum is
//! recorded), and an app older than its database refuses to open it instead of guessing.

/// One migration file, embedded in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Sortable version, the file name's leading timestamp (e.g. `20261128190000`).
    pub version: i64,
    /// File name, for logs.
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// A stable checksum of the SQL text (FNV-1a 64, hex), recorded when applied.
    pub fn checksum(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.sql.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// A migration a database records as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i64,
    pub checksum: String,
}

/// Why the schema cannot be brought up to date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "database has migration {version} which this program does not know: the database was written by a newer version; upgrade the program"
    )]
    UnknownApplied { version: i64 },
    #[error(
        "migration {name} was changed after it was applied (checksum {applied} in the database, {embedded} in the program); add a new migration instead"
    )]
    Edited {
        name: &'static str,
        applied: String,
        embedded: String,
    },
    #[error("migrations are not in strictly increasing version order at {name}")]
    Unordered { name: &'static str },
}

/// The migrations of `all` still to apply, in order, given what the database has applied.
pub fn pending<'a>(
    all: &'a [Migration],
    applied: &[AppliedMigration],
) -> Result<Vec<&'a Migration>, SchemaError> {
    for pair in all.windows(2) {
        if pair[1].version <= pair[0].version {
            return Err(SchemaError::Unordered { name: pair[1].name });
        }
    }
    for a in applied {
        let Some(m) = all.iter().find(|m| m.version == a.version) else {
            return Err(SchemaError::UnknownApplied { version: a.version });
        };
        if m.checksum() != a.checksum {
            return Err(SchemaError::Edited {
                name: m.name,
                applied: a.checksum.clone(),
                embedded: m.checksum(),
            });
        }
    }
    Ok(all
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Migration; 2] = [
        Migration {
            version: 1,
            name: "1_a.sql",
            sql: "CREATE TABLE a(x);",
        },
        Migration {
            version: 2,
            name: "2_b.sql",
            sql: "CREATE TABLE b(x);",
        },
    ];

    fn applied(m: &Migration) -> AppliedMigration {
        AppliedMigration {
            version: m.version,
            checksum: m.checksum(),
        }
    }

    #[test]
    fn pending_in_order() {
        assert_eq!(pending(&ALL, &[]).expect("ok"), vec![&ALL[0], &ALL[1]]);
        assert_eq!(
            pending(&ALL, &[applied(&ALL[0])]).expect("ok"),
            vec![&ALL[1]]
        );
        assert!(
            pending(&ALL, &[applied(&ALL[0]), applied(&ALL[1])])
                .expect("ok")
                .is_empty()
        );
    }

    #[test]
    fn refuses_newer_database_edited_migrations_and_disorder() {
        let newer = AppliedMigration {
            version: 3,
            checksum: "x".into(),
        };
        assert_eq!(
            pending(&ALL, &[newer]),
            Err(SchemaError::UnknownApplied { version: 3 })
        );
        let edited = AppliedMigration {
            version: 1,
            checksum: "0".into(),
        };
        assert!(matches!(
            pending(&ALL, &[edited]),
            Err(SchemaError::Edited { .. })
        ));
        let reversed = [ALL[1], ALL[0]];
        assert!(matches!(
            pending(&reversed, &[]),
            Err(SchemaError::Unordered { .. })
        ));
    }

    #[test]
    fn checksum_is_stable() {
        assert_eq!(ALL[0].checksum(), ALL[0].checksum());
        assert_ne!(ALL[0].checksum(), ALL[1].checksum());
        assert_eq!(
            Migration {
                version: 0,
                name: "",
                sql: ""
            }
            .checksum(),
            "cbf29ce484222325"
        );
    }
}
