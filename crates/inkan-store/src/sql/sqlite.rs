//! The SQLite backend: one file, zero configuration, the default.
//!
//! Every write that reads first runs in `BEGIN IMMEDIATE`: the write lock is taken at the start,
//! so concurrent writers wait (busy timeout) instead of failing when a reader tries to become a
//! writer, which SQLite cannot wait for in WAL mode.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

use crate::{Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a connection waits for another's write lock before giving up with "database is
/// locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What every connection sets before its first query.
fn connection_pragmas() -> [String; 3] {
    [
        // FULL, not NORMAL: in WAL mode NORMAL survives a crash of the process but may lose the
        // last commits on power loss, and a signed contract or an audit entry that the user was
        // told is saved must not disappear. FULL costs one fsync of the WAL per commit, which is
        // small next to what a commit here represents (a signature, an upload).
        "PRAGMA synchronous = FULL".to_string(),
        "PRAGMA foreign_keys = ON".to_string(),
        format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()),
    ]
}

/// The pool for `sqlite://path/to/inkan.db` (the file created if absent), in WAL mode, with
/// every migration applied.
pub(crate) async fn connect(url: &str) -> Result<AnyPool> {
    let options = parse(url)?.create_if_missing(true);
    // An in-memory database lives as long as its connections: keep exactly one open.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let pool = super::pool_options(if in_memory {
        AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        // Readers run in parallel under WAL; writers queue on the lock. All four are opened at
        // once and kept: each has a thread of its own, which would otherwise be started by
        // whichever task first needed it — a job's, whose threads run at a lower priority (see
        // inkan-service's `background`), and the web's queries would then wait on it.
        AnyPoolOptions::new()
            .max_connections(4)
            .min_connections(4)
            .idle_timeout(None)
            .max_lifetime(None)
    })
    .after_connect(|connection, _| {
        Box::pin(async move {
            for pragma in connection_pragmas() {
                connection.execute(pragma.as_str()).await?;
            }
            Ok(())
        })
    })
    .connect_with(any_options(&options)?)
    .await?;
    // WAL is a property of the file: set once, it stays.
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&pool)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// The database at `url` created with the migrations up to `version` only
/// ([`crate::migrate_to`]).
pub(crate) async fn migrate_to(url: &str, version: i64) -> Result<()> {
    let options = parse(url)?.create_if_missing(true).foreign_keys(true);
    let mut connection = options.connect().await?;
    crate::migrations::up_to(&MIGRATOR, version)
        .run(&mut connection)
        .await?;
    connection.close().await?;
    Ok(())
}

/// The versions and descriptions of every migration, in order.
pub(crate) fn migrations() -> Vec<(i64, String)> {
    MIGRATOR
        .iter()
        .map(|m| (m.version, m.description.to_string()))
        .collect()
}

fn parse(url: &str) -> Result<SqliteConnectOptions> {
    SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("SQLite URL {url:?}: {e}")))
}

/// The same database for the [`Any`](sqlx::Any) driver (which reads the file name and mode from
/// the URL; the rest is set by [`connection_pragmas`]).
pub(crate) fn any_options(options: &SqliteConnectOptions) -> Result<AnyConnectOptions> {
    sqlx::any::install_default_drivers();
    Ok(AnyConnectOptions::from_url(&options.to_url_lossy())?)
}
