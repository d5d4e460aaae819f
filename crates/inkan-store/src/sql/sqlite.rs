//! The SQLite backend: one file, zero configuration, the default.
//!
//! Every write that reads first runs in `BEGIN IMMEDIATE`: the write lock is taken at the start,
//! so concurrent writers wait (busy timeout) instead of failing when a reader tries to become a
//! writer, which SQLite cannot wait for in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a connection waits for another's write lock before giving up with "database is
/// locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Inkan's data in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    chain_key: crate::ChainKey,
}

impl SqliteStore {
    /// Opens (creating it if absent) the database at `sqlite://path/to/inkan.db` and applies the
    /// migrations it has not seen yet.
    pub async fn connect(url: &str, chain_key: crate::ChainKey) -> crate::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| crate::StoreError::Config(format!("SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL, not NORMAL: in WAL mode NORMAL survives a crash of the process but may lose
            // the last commits on power loss, and a signed contract or an audit entry that the
            // user was told is saved must not disappear. FULL costs one fsync of the WAL per
            // commit, which is small next to what a commit here represents (a signature, an
            // upload).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // An in-memory database lives as long as its connections: keep exactly one open.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            // Readers run in parallel under WAL; writers queue on the lock.
            SqlitePoolOptions::new().max_connections(4)
        }
        .connect_with(options)
        .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool, chain_key })
    }

    /// The database at `url` created with the migrations up to `version` only
    /// ([`crate::migrate_to`]).
    pub(crate) async fn migrate_to(url: &str, version: i64) -> crate::Result<()> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| crate::StoreError::Config(format!("SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        crate::migrations::up_to(&MIGRATOR, version)
            .run(&pool)
            .await?;
        pool.close().await;
        Ok(())
    }

    /// The versions and descriptions of every migration, in order.
    pub(crate) fn migrations() -> Vec<(i64, String)> {
        MIGRATOR
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    }

    const FOR_UPDATE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";

    async fn begin_write(&self) -> crate::Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

crate::imp::store_impl!(SqliteStore, Sqlite, "sqlite");
crate::imp_access::access_impl!(SqliteStore, Sqlite);
crate::imp_sso::sso_impl!(SqliteStore, Sqlite);
crate::imp_passkeys::passkeys_impl!(SqliteStore);
