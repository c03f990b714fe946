use std::fmt;

/// The longest identifier we keep; longer ones are refused rather than truncated.
const MAX_ID_LEN: usize = 255;

/// Why a text is not an identifier. The payload names the field (`reference_id`,
/// `customer_id`).
///
/// ```
/// use payram_domain::{CustomerId, IdError, ReferenceId};
///
/// assert_eq!(ReferenceId::parse(""), Err(IdError::Empty("reference_id")));
/// assert_eq!(CustomerId::parse(&"9".repeat(256)), Err(IdError::TooLong("customer_id")));
/// assert_eq!(IdError::Empty("reference_id").to_string(), "reference_id is empty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{0} is longer than 255 bytes")]
    TooLong(&'static str),
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts any text that is not blank and at most 255 bytes long, kept verbatim.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                if text.trim().is_empty() {
                    return Err(IdError::Empty($what));
                }
                if text.len() > MAX_ID_LEN {
                    return Err(IdError::TooLong($what));
                }
                Ok(Self(text.to_owned()))
            }

            /// The identifier as it was received.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// PayRam's payment id (`reference_id`), the key of a payment.
    ///
    /// Any text that is not blank and at most 255 bytes long, kept verbatim (not trimmed, not
    /// case-folded): a UUID in practice, but PayRam's samples also show ids such as `ref_123`.
    ///
    /// ```
    /// use payram_domain::ReferenceId;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let reference = ReferenceId::parse("3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11")?;
    /// assert_eq!(reference.as_str(), "3f1c1e7a-5b2d-4c8e-9a61-0d2f7b9e4c11");
    /// assert_eq!(reference.to_string(), reference.as_str());
    /// assert_eq!(ReferenceId::parse(" ref_1")?.as_str(), " ref_1");
    /// assert!(ReferenceId::parse("   ").is_err());
    /// # Ok(())
    /// # }
    /// ```
    ReferenceId,
    "reference_id"
);
identifier!(
    /// The merchant's customer id given when the payment was created: the account to credit.
    ///
    /// Same rules as [`ReferenceId`]: not blank, at most 255 bytes, kept verbatim.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    ///
    /// use payram_domain::CustomerId;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let customer = CustomerId::parse("cust_1001")?;
    /// assert_eq!(customer.as_str(), "cust_1001");
    /// assert!(CustomerId::parse("").is_err());
    ///
    /// // Ordered and hashable: a key for per-customer totals.
    /// let mut totals = BTreeMap::new();
    /// totals.insert(customer.clone(), "50.00");
    /// assert_eq!(totals.get(&customer), Some(&"50.00"));
    /// # Ok(())
    /// # }
    /// ```
    CustomerId,
    "customer_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_identifiers_are_refused() {
        assert_eq!(ReferenceId::parse("  "), Err(IdError::Empty("reference_id")));
        assert_eq!(CustomerId::parse(""), Err(IdError::Empty("customer_id")));
    }

    #[test]
    fn identifiers_are_kept_verbatim() {
        assert_eq!(ReferenceId::parse(" ref_1").unwrap().as_str(), " ref_1");
    }

    #[test]
    fn overlong_identifiers_are_refused() {
        assert_eq!(ReferenceId::parse(&"x".repeat(256)), Err(IdError::TooLong("reference_id")));
        assert!(ReferenceId::parse(&"x".repeat(255)).is_ok());
    }
}
