//! Queries assembled piece by piece (filters that are there or not), with numbered parameters.
//!
//! sqlx's `QueryBuilder` asks the driver how to write a parameter, and the `Any` driver answers
//! `?`, which PostgreSQL does not read. Both databases read `$1`, `$2` …, as every fixed query
//! here is written, so this builder numbers them.

use std::fmt::Write as _;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Arguments, Encode, Type};

pub(crate) struct SqlBuilder {
    sql: String,
    arguments: AnyArguments<'static>,
    count: usize,
    /// The first value that could not be encoded: the query fails with it.
    error: Option<sqlx::error::BoxDynError>,
}

impl SqlBuilder {
    pub(crate) fn new(sql: impl Into<String>) -> SqlBuilder {
        SqlBuilder {
            sql: sql.into(),
            arguments: AnyArguments::default(),
            count: 0,
            error: None,
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: &str) -> &mut SqlBuilder {
        self.sql.push_str(sql);
        self
    }

    /// Appends the next parameter (`$n`) and binds `value` to it.
    pub(crate) fn push_bind<T>(&mut self, value: T) -> &mut SqlBuilder
    where
        T: Encode<'static, Any> + Type<Any> + Send + 'static,
    {
        self.count += 1;
        let _ = write!(self.sql, "${}", self.count);
        if let Err(e) = self.arguments.add(value) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// The query, with its parameters.
    pub(crate) fn build(&mut self) -> Result<Query<'_, Any, AnyArguments<'_>>, sqlx::Error> {
        if let Some(e) = self.error.take() {
            return Err(sqlx::Error::Encode(e));
        }
        let arguments = std::mem::take(&mut self.arguments);
        Ok(sqlx::query_with(&self.sql, arguments))
    }
}
