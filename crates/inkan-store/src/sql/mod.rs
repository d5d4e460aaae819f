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

use sqlx::{Any, AnyPool};

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
