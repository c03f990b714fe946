use std::{fmt, str::FromStr};

/// What the receiver concluded about one delivery; every recorded event carries one.
///
/// A payment notification's outcome comes from its [`crate::Decision`]; the other outcomes
/// come from what the body is (payout, ping) or why it could not be used.
///
/// ```
/// use payram_domain::{EventOutcome, Outcome};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(EventOutcome::from(Outcome::Duplicate), EventOutcome::Duplicate);
/// assert_eq!(EventOutcome::MalformedJson.as_str(), "malformed_json");
/// assert_eq!("invalid_payload".parse::<EventOutcome>()?, EventOutcome::InvalidPayload);
/// assert_eq!(EventOutcome::Payout.to_string(), "payout");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventOutcome {
    /// The notification moved the payment forward (and may have credited).
    Applied,
    /// The notification equals the stored payment.
    Duplicate,
    /// The notification is behind the stored payment; nothing changed.
    Stale,
    /// The status is unknown; nothing changed.
    Ignored,
    /// A payout notification; payouts never credit.
    Payout,
    /// PayRam's test ping (`payout.ping`).
    Ping,
    /// The body is not JSON.
    MalformedJson,
    /// The body is JSON but not a usable notification.
    InvalidPayload,
    /// Processing failed after the event was recorded; it will be retried.
    Failed,
    /// Processing failed on every attempt; it is not retried (dead letter).
    Dead,
    /// A crediting notification waiting for PayRam's API to confirm it
    /// (`CONFIRM_BEFORE_CREDIT`); asked again on a schedule, like a failed event.
    Waiting,
}

impl From<crate::Outcome> for EventOutcome {
    /// The event outcome of a notification whose decision is `outcome`: the one mapping from
    /// what [`crate::decide`] concluded to what the event log records.
    fn from(outcome: crate::Outcome) -> Self {
        match outcome {
            crate::Outcome::Applied => Self::Applied,
            crate::Outcome::Duplicate => Self::Duplicate,
            crate::Outcome::Stale => Self::Stale,
            crate::Outcome::Ignored => Self::Ignored,
        }
    }
}

/// A text that names no [`EventOutcome`].
///
/// ```
/// use payram_domain::{EventOutcome, UnknownOutcome};
///
/// assert_eq!("Applied".parse::<EventOutcome>(), Err(UnknownOutcome("Applied".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event outcome {0:?}")]
pub struct UnknownOutcome(pub String);

impl EventOutcome {
    /// Every outcome.
    ///
    /// ```
    /// use payram_domain::EventOutcome;
    ///
    /// assert_eq!(EventOutcome::ALL.len(), 11);
    /// assert!(EventOutcome::ALL.contains(&EventOutcome::Waiting));
    /// ```
    pub const ALL: [Self; 11] = [
        Self::Applied,
        Self::Duplicate,
        Self::Stale,
        Self::Ignored,
        Self::Payout,
        Self::Ping,
        Self::MalformedJson,
        Self::InvalidPayload,
        Self::Failed,
        Self::Dead,
        Self::Waiting,
    ];

    /// The snake-case name used in answers, the database and filters.
    ///
    /// ```
    /// use payram_domain::EventOutcome;
    ///
    /// for outcome in EventOutcome::ALL {
    ///     assert_eq!(outcome.as_str().parse(), Ok(outcome));
    /// }
    /// assert_eq!(EventOutcome::InvalidPayload.as_str(), "invalid_payload");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
            Self::Payout => "payout",
            Self::Ping => "ping",
            Self::MalformedJson => "malformed_json",
            Self::InvalidPayload => "invalid_payload",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Waiting => "waiting",
        }
    }
}

impl FromStr for EventOutcome {
    type Err = UnknownOutcome;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
            .ok_or_else(|| UnknownOutcome(text.to_owned()))
    }
}

impl fmt::Display for EventOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a delivery proved it came from PayRam. The matching key is identified by its position
/// in the configured key list, never by the key itself.
///
/// ```
/// use payram_domain::AuthMethod;
///
/// let method = AuthMethod::Signature { key_index: 1 };
/// assert_eq!((method.as_str(), method.key_index()), ("signature", 1));
/// assert_eq!(AuthMethod::ApiKey { key_index: 0 }.as_str(), "api_key");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `X-Payram-Signature`: HMAC-SHA256 of the raw body under the key at this position.
    Signature { key_index: usize },
    /// The legacy `API-Key` header equal to the key at this position.
    ApiKey { key_index: usize },
}

impl AuthMethod {
    /// `signature` or `api_key`.
    ///
    /// ```
    /// use payram_domain::AuthMethod;
    ///
    /// assert_eq!(AuthMethod::ApiKey { key_index: 2 }.as_str(), "api_key");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Signature { .. } => "signature",
            Self::ApiKey { .. } => "api_key",
        }
    }

    /// Position (from 0) of the matching key in the configured list.
    ///
    /// ```
    /// use payram_domain::AuthMethod;
    ///
    /// assert_eq!(AuthMethod::ApiKey { key_index: 2 }.key_index(), 2);
    /// ```
    #[must_use]
    pub const fn key_index(self) -> usize {
        match self {
            Self::Signature { key_index } | Self::ApiKey { key_index } => key_index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_their_names() {
        for outcome in EventOutcome::ALL {
            assert_eq!(outcome.as_str().parse(), Ok(outcome));
        }
        assert!("bogus".parse::<EventOutcome>().is_err());
    }

    #[test]
    fn each_decision_outcome_is_recorded_under_its_own_name() {
        use crate::Outcome;
        assert_eq!(EventOutcome::from(Outcome::Applied), EventOutcome::Applied);
        assert_eq!(EventOutcome::from(Outcome::Duplicate), EventOutcome::Duplicate);
        assert_eq!(EventOutcome::from(Outcome::Stale), EventOutcome::Stale);
        assert_eq!(EventOutcome::from(Outcome::Ignored), EventOutcome::Ignored);
    }
}
