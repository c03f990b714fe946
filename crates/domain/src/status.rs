use std::{fmt, str::FromStr};

/// The payment states PayRam reports, in the order of their rank.
///
/// Parsing is case-insensitive and accepts both spellings of cancelled; the canonical form
/// is PayRam's upper case.
///
/// ```
/// use payram_domain::PaymentStatus;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let status: PaymentStatus = "canceled".parse()?;
/// assert_eq!(status, PaymentStatus::Cancelled);
/// assert_eq!(status.to_string(), "CANCELLED");
/// assert!(!status.is_paid());
/// assert!(PaymentStatus::Filled.is_paid());
/// assert!(PaymentStatus::PartiallyFilled < PaymentStatus::Cancelled);
/// assert!("CLOSED".parse::<PaymentStatus>().is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentStatus {
    Open,
    PartiallyFilled,
    Cancelled,
    Filled,
    OverFilled,
}

/// A status text that names none of the [`PaymentStatus`] values. It holds the text
/// normalised (trimmed, upper case).
///
/// ```
/// use payram_domain::{PaymentStatus, UnknownStatus};
///
/// assert_eq!(" closed ".parse::<PaymentStatus>(), Err(UnknownStatus("CLOSED".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown payment status {0:?}")]
pub struct UnknownStatus(pub String);

impl PaymentStatus {
    /// Every state, lowest rank first.
    ///
    /// ```
    /// use payram_domain::PaymentStatus;
    ///
    /// let names: Vec<&str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
    /// assert_eq!(names, ["OPEN", "PARTIALLY_FILLED", "CANCELLED", "FILLED", "OVER_FILLED"]);
    /// ```
    pub const ALL: [Self; 5] =
        [Self::Open, Self::PartiallyFilled, Self::Cancelled, Self::Filled, Self::OverFilled];

    /// Tie-breaker of progress at equal USD amounts:
    /// OPEN < `PARTIALLY_FILLED` < CANCELLED < FILLED < `OVER_FILLED`.
    ///
    /// ```
    /// use payram_domain::PaymentStatus;
    ///
    /// assert_eq!(PaymentStatus::Open.rank(), 0);
    /// assert!(PaymentStatus::Cancelled.rank() < PaymentStatus::Filled.rank());
    /// ```
    #[must_use]
    pub const fn rank(self) -> u8 {
        match self {
            Self::Open => 0,
            Self::PartiallyFilled => 1,
            Self::Cancelled => 2,
            Self::Filled => 3,
            Self::OverFilled => 4,
        }
    }

    /// The canonical upper-case spelling (`CANCELLED` with two Ls).
    ///
    /// ```
    /// use payram_domain::PaymentStatus;
    ///
    /// assert_eq!(PaymentStatus::PartiallyFilled.as_str(), "PARTIALLY_FILLED");
    /// assert_eq!(PaymentStatus::Cancelled.as_str(), "CANCELLED");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Cancelled => "CANCELLED",
            Self::Filled => "FILLED",
            Self::OverFilled => "OVER_FILLED",
        }
    }

    /// True for the states that mean money was received.
    ///
    /// ```
    /// use payram_domain::PaymentStatus;
    ///
    /// let paid: Vec<PaymentStatus> =
    ///     PaymentStatus::ALL.into_iter().filter(|status| status.is_paid()).collect();
    /// assert_eq!(
    ///     paid,
    ///     [PaymentStatus::PartiallyFilled, PaymentStatus::Filled, PaymentStatus::OverFilled]
    /// );
    /// ```
    #[must_use]
    pub const fn is_paid(self) -> bool {
        matches!(self, Self::PartiallyFilled | Self::Filled | Self::OverFilled)
    }
}

impl FromStr for PaymentStatus {
    type Err = UnknownStatus;

    /// Case-insensitive; surrounding blanks are ignored; `CANCELED` means `CANCELLED`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase();
        match upper.as_str() {
            "OPEN" => Ok(Self::Open),
            "PARTIALLY_FILLED" => Ok(Self::PartiallyFilled),
            "CANCELLED" | "CANCELED" => Ok(Self::Cancelled),
            "FILLED" => Ok(Self::Filled),
            "OVER_FILLED" => Ok(Self::OverFilled),
            _ => Err(UnknownStatus(upper)),
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status a notification carries: one we know, or any other text (recorded, never acted on).
///
/// ```
/// use payram_domain::{PaymentStatus, ReportedStatus};
///
/// assert_eq!(ReportedStatus::parse("Filled"), ReportedStatus::Known(PaymentStatus::Filled));
/// assert_eq!(ReportedStatus::parse("undefined"), ReportedStatus::Unknown("UNDEFINED".into()));
/// assert_eq!(ReportedStatus::parse("CANCELED").as_str(), "CANCELLED");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReportedStatus {
    Known(PaymentStatus),
    /// Normalised to upper case, e.g. `UNDEFINED` or `CLOSED`.
    Unknown(String),
}

impl ReportedStatus {
    /// Normalises a status text; never fails.
    ///
    /// ```
    /// use payram_domain::{PaymentStatus, ReportedStatus};
    ///
    /// assert_eq!(
    ///     ReportedStatus::parse(" partially_filled "),
    ///     ReportedStatus::Known(PaymentStatus::PartiallyFilled)
    /// );
    /// assert_eq!(ReportedStatus::parse("verifying"), ReportedStatus::Unknown("VERIFYING".into()));
    /// ```
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text.parse::<PaymentStatus>() {
            Ok(status) => Self::Known(status),
            Err(UnknownStatus(upper)) => Self::Unknown(upper),
        }
    }

    /// The normalised status text.
    ///
    /// ```
    /// use payram_domain::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::parse("over_filled").as_str(), "OVER_FILLED");
    /// assert_eq!(ReportedStatus::parse("closed").as_str(), "CLOSED");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Known(status) => status.as_str(),
            Self::Unknown(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_in_any_case_and_both_spellings() {
        assert_eq!("filled".parse(), Ok(PaymentStatus::Filled));
        assert_eq!("Partially_Filled".parse(), Ok(PaymentStatus::PartiallyFilled));
        assert_eq!("CANCELED".parse(), Ok(PaymentStatus::Cancelled));
        assert_eq!("cancelled".parse(), Ok(PaymentStatus::Cancelled));
    }

    #[test]
    fn unknown_statuses_are_kept_in_upper_case() {
        assert_eq!(ReportedStatus::parse("closed"), ReportedStatus::Unknown("CLOSED".into()));
        assert_eq!(ReportedStatus::parse("UNDEFINED").as_str(), "UNDEFINED");
    }

    #[test]
    fn ranks_follow_the_documented_order() {
        let ranks: Vec<u8> = PaymentStatus::ALL.iter().map(|s| s.rank()).collect();
        assert_eq!(ranks, vec![0, 1, 2, 3, 4]);
        assert!(PaymentStatus::Cancelled.rank() < PaymentStatus::Filled.rank());
    }

    #[test]
    fn canonical_names_round_trip() {
        for status in PaymentStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
    }
}
