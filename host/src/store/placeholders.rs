//! Parameter lists for statements over a set of values (`IN (...)`, `VALUES (...), (...)`).

use super::Backend;

/// `$first, $first+1, ...` for `n` values, on either database: for a
/// statement that also has `$N` parameters of its own.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    params(Backend::Postgres, first, n)
}

/// The `n`th parameter of a statement whose parameters are all written by this
/// function, in order, each used once.
///
/// SQLite gets an anonymous `?`: sqlx asks SQLite for the name of every
/// parameter it binds (`sqlite3_bind_parameter_name`), which SQLite finds by a
/// linear scan of the statement's named parameters, so a statement with
/// hundreds of `$N` costs time quadratic in their number (a quarter of the
/// SQLite writer's time in the billing run). PostgreSQL takes only `$N`.
pub(crate) fn param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => "?".to_owned(),
        Backend::Postgres => format!("${n}"),
    }
}

/// [`param`] for `n` values from `first`, joined with commas.
pub(crate) fn params(backend: Backend, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| param(backend, i))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_on_postgresql_and_anonymous_on_sqlite() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(params(Backend::Postgres, 2, 3), "$2, $3, $4");
        assert_eq!(params(Backend::Sqlite, 2, 3), "?, ?, ?");
        assert_eq!(param(Backend::Postgres, 7), "$7");
    }
}
