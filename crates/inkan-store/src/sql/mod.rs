//! The one implementation of the store's traits, over SQL that both databases accept.
//!
//! SQLite and PostgreSQL take the same SQL for everything Inkan does (`$1` parameters, upserts
//! with `excluded`, partial unique indexes as conflict targets, `UPDATE … RETURNING`), and the
//! schema keeps to the types both read alike (TEXT, BIGINT/INTEGER, BOOLEAN read as 0/1 on
//! SQLite, BLOB/BYTEA). So the methods are written once, as plain code over sqlx's
//! [`Any`](sqlx::Any) driver, which hands each query to the database the URL names. What really
//! differs is in [`Backend`] and in one file per database:
//!
//! - opening ([`sqlite`], [`postgres`]): connection settings and the migrations of each;
//! - [`SqlStore::begin_write`]: the transaction for writes that read first. SQLite takes the
//!   write lock at `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of
//!   failing when a reader tries to become a writer; PostgreSQL uses an ordinary transaction
//!   and row locks;
//! - [`Backend::for_update`] / [`Backend::skip_locked`]: row-lock clauses, empty on SQLite (its
//!   write lock already covers the whole database);
//! - whole-database exports (`VACUUM INTO`, `pg_dump`, in `dump.rs`).
//!
//! Lock order inside `apply` is fixed (envelope row, documents, attachments, tokens, jobs, audit
//! heads in organization order) so concurrent changes on PostgreSQL cannot deadlock.

mod access;
mod audit;
mod builder;
mod factors;
mod jobs;
mod passkeys;
pub(crate) mod postgres;
pub(crate) mod sqlite;
mod sso;
mod store;
mod templates;

use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Database, TransactionManager};

use crate::dump::PgTarget;
use crate::{ChainKey, Result};

/// Inkan's data in SQLite (one file, zero configuration, the default) or PostgreSQL (for
/// several processes on one database).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(crate) pool: AnyPool,
    chain_key: ChainKey,
    pub(crate) backend: Backend,
    /// SQLite: this process's writers take turns here, first come first served, before taking
    /// the database's write lock. Without it a writer that finds the lock held sleeps in
    /// SQLite's busy handler by growing steps (1, 2, 5, 10, 15 … ms) and may start long after
    /// the lock is free: a sign request's commit waited up to 60 ms behind the jobs'.
    write_turns: Arc<tokio::sync::Mutex<()>>,
}

/// A writer's turn (SQLite; nothing on PostgreSQL, whose row locks queue writers themselves):
/// held until the write has committed or rolled back.
pub(crate) type WriteTurn = Option<tokio::sync::OwnedMutexGuard<()>>;

/// Which database a [`SqlStore`] holds, and what differs between them.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite,
    /// With how `pg_dump` reaches the same database.
    Postgres(PgTarget),
}

impl Backend {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Locks the rows a `SELECT` reads until the transaction ends.
    pub(crate) fn for_update(&self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres(_) => " FOR UPDATE",
        }
    }

    /// Locks the rows a `SELECT` reads, passing over rows another transaction holds (job
    /// claims: workers never wait for, or share, a job).
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// What both databases' pools do: a connection goes back to the pool only outside any
/// transaction.
///
/// A task cancelled between its `BEGIN` and the transaction it was to get back (a client that
/// hangs up during a request, a worker stopped mid-job) can leave its connection inside a
/// transaction nobody owns: sqlx's SQLite worker acknowledges the `BEGIN`, and the answer is
/// lost with the cancelled task. The next user of that connection then failed with "begin_with
/// at non-zero transaction depth" (seen under load) — or, with a plain `begin`, wrote into a
/// savepoint of a transaction that never commits; and on SQLite every other writer waited for
/// the write lock it held. Such a transaction is rolled back as the connection is released
/// (the depth is counted before the lost answer was sent, so it is known by then).
pub(crate) fn pool_options(options: AnyPoolOptions) -> AnyPoolOptions {
    options.after_release(|connection, _| {
        Box::pin(async move {
            roll_back_orphaned_transaction(connection).await?;
            Ok(true)
        })
    })
}

/// Rolls back whatever transaction `connection` is inside (see [`pool_options`]).
pub(crate) async fn roll_back_orphaned_transaction(
    connection: &mut AnyConnection,
) -> sqlx::Result<()> {
    let depth = <Any as Database>::TransactionManager::get_transaction_depth(connection);
    if depth == 0 {
        return Ok(());
    }
    tracing::warn!(
        depth,
        "a pooled connection was left inside a transaction by a cancelled task: rolled back"
    );
    // One level per rollback (the savepoints, then the transaction); bounded by the depth.
    for _ in 0..depth {
        <Any as Database>::TransactionManager::rollback(connection).await?;
    }
    if connection.is_in_transaction() {
        return Err(sqlx::Error::Protocol(
            "a pooled connection stayed inside a transaction after rolling it back".into(),
        ));
    }
    Ok(())
}

impl SqlStore {
    /// Opens the SQLite database at `sqlite://path/to/inkan.db`, creating it if absent, and
    /// applies the migrations it has not seen yet.
    pub async fn sqlite(url: &str, chain_key: ChainKey) -> Result<SqlStore> {
        let pool = sqlite::connect(url).await?;
        Ok(SqlStore {
            pool,
            chain_key,
            backend: Backend::Sqlite,
            write_turns: Arc::default(),
        })
    }

    /// Connects to `postgres://user@host/db` and applies the migrations it has not seen yet
    /// (under PostgreSQL's advisory lock, so processes starting together do not race).
    pub async fn postgres(url: &str, chain_key: ChainKey) -> Result<SqlStore> {
        let pool = postgres::connect(url).await?;
        Ok(SqlStore {
            pool,
            chain_key,
            backend: Backend::Postgres(PgTarget::parse(url)?),
            write_turns: Arc::default(),
        })
    }

    /// The transaction for writes that read first, and the writer's turn (keep it until the
    /// transaction ends).
    pub(crate) async fn begin_write(&self) -> Result<(WriteTurn, sqlx::Transaction<'static, Any>)> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.write_turn().await;
                (turn, self.pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            Backend::Postgres(_) => (None, self.pool.begin().await?),
        })
    }

    /// The turn of a write outside [`Self::begin_write`] (one statement).
    pub(crate) async fn write_turn(&self) -> WriteTurn {
        match self.backend {
            Backend::Sqlite => Some(self.write_turns.clone().lock_owned().await),
            Backend::Postgres(_) => None,
        }
    }
}

/// Default number of rows when a filter says `limit: 0`.
pub(super) const DEFAULT_LIMIT: i64 = 100;
pub(super) const DEFAULT_SEARCH_LIMIT: i64 = 1000;
pub(super) const DEFAULT_CLAIM_LIMIT: i64 = 10;

pub(super) fn limit_or(limit: u32, default: i64) -> i64 {
    if limit == 0 {
        default
    } else {
        i64::from(limit)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Store;

    /// What a task cancelled right after its `BEGIN` leaves behind: a pooled connection inside
    /// a transaction that no `Transaction` owns, holding SQLite's write lock.
    #[tokio::test]
    async fn a_transaction_left_by_a_cancelled_task_is_rolled_back_before_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("inkan.db").display());
        let store = SqlStore::sqlite(&url, ChainKey::from_bytes([7; 32]))
            .await
            .unwrap();
        {
            let mut orphan = store.pool.acquire().await.unwrap();
            <Any as Database>::TransactionManager::begin(
                &mut orphan,
                Some("BEGIN IMMEDIATE".into()),
            )
            .await
            .unwrap();
            assert!(orphan.is_in_transaction());
        }
        // Every pooled connection in turn, the orphan's among them: each write succeeds and
        // commits (before, the orphan's next user failed, and every other writer waited for
        // its write lock until the busy timeout).
        let mut reserved = Vec::new();
        for _ in 0..8 {
            reserved.push(store.reserve_counter("serials", 1, 0).await.unwrap());
        }
        assert_eq!(reserved, (0..8).collect::<Vec<u128>>());
        let other = SqlStore::sqlite(&url, ChainKey::from_bytes([7; 32]))
            .await
            .unwrap();
        assert_eq!(other.reserve_counter("serials", 1, 0).await.unwrap(), 8);
    }
}
