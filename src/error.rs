//! The domain layer's error: what went wrong in terms a caller can act on.
//! The HTTP layer (`web::error`) maps it to status codes; internals are logged, not shown.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not exist, or exists outside what the caller may see: both answer the
    /// same so that ids cannot be probed.
    #[error("{0}不存在")]
    NotFound(&'static str),
    #[error("无权执行此操作：{0}")]
    Forbidden(&'static str),
    /// A value a user can fix: names the field (or column/line) and the expected form.
    #[error("{0}")]
    Invalid(Invalid),
    #[error("{0}")]
    Conflict(String),
    #[error("数据库错误")]
    Db(#[from] sqlx::Error),
    #[error("文件读写错误")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
}

/// A rejected input value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}：{}", self.field, self.message)
    }
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid(Invalid {
            field: field.into(),
            message: message.into(),
        })
    }

    /// Turns a unique-constraint violation into a conflict the user can understand; any other
    /// database error stays internal.
    pub fn on_unique(e: sqlx::Error, message: impl Into<String>) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Error::Conflict(message.into()),
            _ => Error::Db(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
