//! Whole-database copies for backups: exported while the service runs, imported into an empty
//! database.
//!
//! Each backend uses the tool made for it rather than a row-by-row copy of Inkan's own: SQLite's
//! `VACUUM INTO` writes a consistent, compacted copy of the live file in one read transaction;
//! PostgreSQL's `pg_dump` (custom format) reads every table in one snapshot, and `pg_restore`
//! puts the dump into an empty database in one transaction. Both copies carry the migration
//! table, so opening the restored database applies only the migrations newer than the backup.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::sql::{self, Backend};
use crate::{Inventory, Result, SqlStore, StoreError};

impl SqlStore {
    /// A copy of the whole database in `file` (which must not exist), with the inventory of
    /// what it holds.
    pub(crate) async fn export_to(&self, file: &Path) -> Result<Inventory> {
        refuse_existing(file)?;
        match &self.backend {
            Backend::Sqlite => self.vacuum_into(file).await,
            Backend::Postgres(target) => self.pg_dump(target, file).await,
        }
    }

    /// `VACUUM INTO`: a consistent copy of the database as of one read transaction (writers go
    /// on meanwhile, under WAL); the inventory is then read from the copy itself.
    async fn vacuum_into(&self, file: &Path) -> Result<Inventory> {
        let path = file.to_str().ok_or_else(|| {
            StoreError::Config(format!("the export path {} is not UTF-8", file.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await?;
        let options = SqliteConnectOptions::new().filename(file).read_only(true);
        let mut copy = sql::sqlite::any_options(&options)?.connect().await?;
        let inventory = SqlStore::inventory_on(&mut copy).await;
        copy.close().await?;
        inventory
    }

    /// `pg_dump --format=custom` in the snapshot of a read-only transaction that also reads
    /// the inventory, so both describe the same moment. Owners and grants are left out (the
    /// database restored into has its own).
    async fn pg_dump(&self, target: &PgTarget, file: &Path) -> Result<Inventory> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await?;
        let inventory = SqlStore::inventory_on(&mut tx).await?;
        let mut command = target.command("pg_dump");
        command
            .args(["--format=custom", "--no-owner", "--no-privileges"])
            .arg(format!("--snapshot={snapshot}"))
            .arg("--file")
            .arg(file);
        // The snapshot lives as long as the transaction: it ends after pg_dump.
        let dumped = run(command).await;
        tx.rollback().await?;
        dumped.map(|()| inventory)
    }
}

/// Whether the database at `url` holds nothing yet: for SQLite, no file (or an empty one); for
/// PostgreSQL, no table in its `public` schema. A restore goes only into an empty database.
pub async fn database_is_empty(url: &str) -> Result<bool> {
    if is_postgres(url) {
        let mut connection = pg_options(url)?.connect().await?;
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&mut connection)
        .await?;
        connection.close().await?;
        Ok(tables == 0)
    } else {
        let path = sqlite_path(url)?;
        Ok(std::fs::metadata(&path)
            .map(|m| m.len() == 0)
            .unwrap_or(true))
    }
}

/// Puts a copy made by [`Store::export_database`](crate::Store::export_database) into the
/// empty database at `url`; refuses one that holds anything. Open the store afterwards to
/// apply newer migrations.
pub async fn import_database(url: &str, dump: &Path) -> Result<()> {
    if !database_is_empty(url).await? {
        return Err(StoreError::Config(format!(
            "復元先のデータベースが空ではありません (the database {} is not empty; a backup is \
             restored only into an empty one)",
            redacted(url)
        )));
    }
    if is_postgres(url) {
        let mut command = PgTarget::parse(url)?.command("pg_restore");
        command
            .args([
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
            ])
            .arg(dump);
        run(command).await
    } else {
        let path = sqlite_path(url)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        // Copied beside, synced, then renamed: a crash leaves no half database under the name.
        let partial = path.with_extension("restoring");
        std::fs::copy(dump, &partial).map_err(|e| io(&partial, e))?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| io(&path, e))?;
        Ok(())
    }
}

/// Creates the empty PostgreSQL database `name` on the server of `url` (for a restore drill).
/// `name` is made of lowercase letters, digits and `_`.
pub async fn create_database(url: &str, name: &str) -> Result<()> {
    on_server(url, &format!("CREATE DATABASE {}", plain_name(name)?)).await
}

/// Drops the PostgreSQL database `name` on the server of `url`, closing its connections.
pub async fn drop_database(url: &str, name: &str) -> Result<()> {
    on_server(
        url,
        &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", plain_name(name)?),
    )
    .await
}

async fn on_server(url: &str, statement: &str) -> Result<()> {
    let mut connection = pg_options(url)?.connect().await?;
    sqlx::raw_sql(statement).execute(&mut connection).await?;
    connection.close().await?;
    Ok(())
}

/// A database name that needs no quoting.
fn plain_name(name: &str) -> Result<&str> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        Ok(name)
    } else {
        Err(StoreError::Config(format!(
            "{name:?} is not a plain database name"
        )))
    }
}

/// How the PostgreSQL tools reach a database: its URL without the password, which goes by the
/// `PGPASSWORD` environment variable so that no process listing shows it.
#[derive(Clone)]
pub(crate) struct PgTarget {
    url: String,
    password: Option<String>,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTarget")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl PgTarget {
    pub(crate) fn parse(url: &str) -> Result<PgTarget> {
        let mut parsed = url::Url::parse(url)
            .map_err(|e| StoreError::Config(format!("PostgreSQL URL ({}): {e}", redacted(url))))?;
        let password = parsed.password().map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        });
        // Cannot fail on a URL with a host, which every postgres:// URL has.
        let _ = parsed.set_password(None);
        Ok(PgTarget {
            url: parsed.to_string(),
            password,
        })
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.arg("--dbname").arg(&self.url);
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command
    }
}

/// Runs a PostgreSQL tool to its end off the async threads; its error output names what failed.
async fn run(mut command: Command) -> Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| StoreError::Config(format!("{program}: {e}")))?
        .map_err(|e| {
            StoreError::Config(format!(
                "{program} を実行できません (cannot run {program}: {e}; install the PostgreSQL \
                 client tools, e.g. apt install postgresql-client)"
            ))
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn pg_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("PostgreSQL URL ({}): {e}", redacted(url))))
}

fn sqlite_path(url: &str) -> Result<PathBuf> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("SQLite URL {url:?}: {e}")))?;
    Ok(options.get_filename().to_path_buf())
}

/// The URL as logs may show it: what follows the credentials.
fn redacted(url: &str) -> &str {
    url.split('@').next_back().unwrap_or(url)
}

fn refuse_existing(file: &Path) -> Result<()> {
    if file.exists() {
        return Err(StoreError::Config(format!(
            "the export file {} already exists",
            file.display()
        )));
    }
    Ok(())
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Config(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let target = PgTarget::parse("postgres://inkan:p%40ss%2Fw@db.example:5433/inkan").unwrap();
        assert_eq!(target.url, "postgres://inkan@db.example:5433/inkan");
        assert_eq!(target.password.as_deref(), Some("p@ss/w"));
        assert!(!format!("{target:?}").contains("p@ss"));
        let command = target.command("pg_dump");
        let args: Vec<_> = command.get_args().collect();
        assert!(!args.iter().any(|a| a.to_string_lossy().contains("ss")));
    }
}
