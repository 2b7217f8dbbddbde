//! Row to struct mapping: [`FromRow`].

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::{DbError, ErrorKind};

/// Converts one result row into a value.
///
/// Implemented for tuples of column types (columns taken in order) and for
/// [`Row`] itself; implement it for your structs with [`column()`]:
///
/// ```
/// use edge_db::{FromRow, DbError, column};
/// use tokio_postgres::Row;
///
/// struct User { id: i64, name: String }
///
/// impl FromRow for User {
///     fn from_row(row: &Row) -> Result<Self, DbError> {
///         Ok(User { id: column(row, "id")?, name: column(row, "name")? })
///     }
/// }
/// ```
pub trait FromRow: Sized {
    /// Convert `row`.
    fn from_row(row: &Row) -> Result<Self, DbError>;
}

/// Read column `name` of `row` as `T`, with a [`ErrorKind::Mapping`] error naming the column.
pub fn column<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, DbError> {
    row.try_get(name).map_err(|e| {
        DbError::new(
            ErrorKind::Mapping,
            format!("cannot read column `{name}`: {e}"),
        )
        .with_source(e)
    })
}

impl FromRow for Row {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(row.clone())
    }
}

macro_rules! tuple_from_row {
    ($($ty:ident $idx:tt),+) => {
        impl<$($ty),+> FromRow for ($($ty,)+)
        where
            $($ty: for<'a> FromSql<'a>),+
        {
            fn from_row(row: &Row) -> Result<Self, DbError> {
                Ok(($(
                    row.try_get::<_, $ty>($idx).map_err(|e| {
                        DbError::new(ErrorKind::Mapping, format!("cannot read column {}: {e}", $idx)).with_source(e)
                    })?,
                )+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
