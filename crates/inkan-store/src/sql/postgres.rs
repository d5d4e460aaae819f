//! The PostgreSQL backend, for running several Inkan processes against one database.
//!
//! Concurrency comes from row locks: the envelope row (the version check is an `UPDATE … WHERE
//! version = $n`), the organization's audit head (`FOR UPDATE`), and job claims with
//! `FOR UPDATE SKIP LOCKED` so that workers never wait for, or share, a job.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::AnyPool;

use crate::{Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The pool for `postgres://user@host/db`, with every migration applied.
pub(crate) async fn connect(url: &str) -> Result<AnyPool> {
    // Parsed here for the error message (which leaves out the password); the `Any` driver
    // parses the same URL again.
    PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Config(format!(
            "PostgreSQL URL (…@{}): {e}",
            url.split('@').next_back().unwrap_or("")
        ))
    })?;
    sqlx::any::install_default_drivers();
    let pool = super::pool_options(AnyPoolOptions::new())
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(AnyConnectOptions::from_str(url)?)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// The database at `url` brought to the migrations up to `version` only
/// ([`crate::migrate_to`]).
pub(crate) async fn migrate_to(url: &str, version: i64) -> Result<()> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("PostgreSQL URL: {e}")))?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    crate::migrations::up_to(&MIGRATOR, version)
        .run(&pool)
        .await?;
    pool.close().await;
    Ok(())
}
