//! A migrator that stops at a given version, so a test can make a database as an earlier
//! release left it and then upgrade it.

use std::borrow::Cow;

use sqlx::migrate::Migrator;

/// `all`, without the migrations after `version`.
pub(crate) fn up_to(all: &Migrator, version: i64) -> Migrator {
    // sqlx offers no public constructor from embedded migrations; its fields are public (and
    // documented as semver-exempt) so that `migrate!` can build one. The version is pinned in
    // Cargo.lock, and the upgrade test fails loudly if this ever stops holding.
    Migrator {
        migrations: Cow::Owned(
            all.iter()
                .filter(|m| m.version <= version)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}
