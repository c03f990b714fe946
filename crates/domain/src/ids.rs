use std::fmt;

/// The longest identifier we keep; longer ones are refused rather than truncated.
const MAX_ID_LEN: usize = 255;

/// Why a text is not an identifier.
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
    ReferenceId,
    "reference_id"
);
identifier!(
    /// The merchant's customer id given when the payment was created: the account to credit.
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
