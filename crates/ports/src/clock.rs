use chrono::{DateTime, Utc};

/// Outbound port: the current time. A seam so tests can fix time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
