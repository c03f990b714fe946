use std::fmt;

/// Any error cause, kept for logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a repository adapter may report. Adapters map their own errors into these.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// A concurrent writer committed first (e.g. the same credit); the caller may retry.
    #[error("concurrent write conflict")]
    Conflict,
    /// The database cannot be reached or cannot commit (locked, read-only, full, down).
    /// Nothing was written; the request may be retried later.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Stored data contradicts the domain's invariants.
    #[error("stored data is corrupt")]
    Corrupt(#[source] BoxError),
}

/// What a crediting adapter may report.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    /// The receiving side could not be reached or failed; the credit may be delivered again.
    #[error("crediting failed")]
    Failed(#[source] BoxError),
}

/// What the use cases may report to driving adapters.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl ServiceError {
    /// True when the request can succeed later without change (storage was unavailable or a
    /// write conflicted): the webhook answers 503 so PayRam retries.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Repository(RepositoryError::Unavailable(_) | RepositoryError::Conflict)
        )
    }
}

/// Renders an error with its whole chain of causes, `a: b: c`, for logs and messages.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
