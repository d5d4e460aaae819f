//! A fresh PostgreSQL database per test, made and dropped with `psql` on the server named by
//! `INKAN_TEST_DATABASE_URL` (default: the local server, database `test`, trust authentication).
//! Unreachable: skipped with the reason, or a failure under CI.

use std::process::Command;

/// A database that exists until this is dropped.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// The database's URL.
    pub url: String,
}

fn admin_url() -> String {
    std::env::var("INKAN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn psql(admin: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([admin, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Creates a new, empty database, or `None` (after printing why) when PostgreSQL cannot be
/// reached.
pub fn fresh_database() -> Option<PgDatabase> {
    crate::require_tool(
        "psql",
        "creates the test databases (apt install postgresql-client)",
    )?;
    let admin = admin_url();
    let name = format!("inkan_t_{:016x}", rand_suffix());
    if let Err(e) = psql(&admin, &format!("CREATE DATABASE {name}")) {
        crate::skip_or_fail(&format!("PostgreSQL is not reachable at {admin}: {e}"));
        return None;
    }
    let base = admin.split('?').next().unwrap_or(&admin);
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    Some(PgDatabase {
        url: format!("{server}/{name}"),
        admin,
        name,
    })
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}
