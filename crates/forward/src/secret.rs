use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretSlice};

/// The prefix of a Standard Webhooks secret.
const PREFIX: &str = "whsec_";

/// Random bytes in a generated secret (256 bits).
const GENERATED_BYTES: usize = 32;

/// A Standard Webhooks signing secret: `whsec_` followed by base64; the HMAC key is the
/// decoded bytes, as the official libraries read it. Never printed by `Debug`.
#[derive(Clone)]
pub struct ForwardSecret {
    /// Zeroed when dropped (`secrecy`).
    key: SecretSlice<u8>,
}

impl PartialEq for ForwardSecret {
    fn eq(&self, other: &Self) -> bool {
        self.key.expose_secret() == other.key.expose_secret()
    }
}

impl Eq for ForwardSecret {}

/// Why a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the secret must start with `whsec_` followed by base64 (`payram-merchant forward-secret` prints one)"
    )]
    MissingPrefix,
    #[error("the part after `whsec_` is not valid base64")]
    NotBase64,
    #[error("the secret is too short: at least 16 bytes once decoded (24 to 64 are usual)")]
    TooShort,
    #[error("no randomness available to generate a secret: {0}")]
    Random(String),
}

impl ForwardSecret {
    /// Parses `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.trim().strip_prefix(PREFIX).ok_or(SecretError::MissingPrefix)?;
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        if key.len() < 16 {
            return Err(SecretError::TooShort);
        }
        Ok(Self { key: key.into() })
    }

    /// A fresh random secret from the operating system's generator.
    pub fn generate() -> Result<Self, SecretError> {
        let mut key = vec![0; GENERATED_BYTES];
        getrandom::fill(&mut key).map_err(|err| SecretError::Random(err.to_string()))?;
        Ok(Self { key: key.into() })
    }

    /// The secret in its `whsec_<base64>` form, to hand to the receiving application.
    #[must_use]
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(self.key.expose_secret()))
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.key.expose_secret()
    }
}

impl fmt::Debug for ForwardSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForwardSecret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_round_trips_through_its_text() {
        let secret = ForwardSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(secret.expose(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(secret.key().len(), 24);
    }

    #[test]
    fn secrets_not_in_the_standard_form_are_refused() {
        assert_eq!(
            ForwardSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        assert_eq!(ForwardSecret::parse("whsec_not base64!"), Err(SecretError::NotBase64));
        assert_eq!(ForwardSecret::parse("whsec_c2hvcnQ="), Err(SecretError::TooShort));
        assert_eq!(ForwardSecret::parse(""), Err(SecretError::MissingPrefix));
    }

    #[test]
    fn generated_secrets_are_fresh_and_parse_back() {
        let one = ForwardSecret::generate().unwrap();
        let two = ForwardSecret::generate().unwrap();
        assert_ne!(one, two);
        assert_eq!(ForwardSecret::parse(&one.expose()).unwrap(), one);
        assert_eq!(one.key().len(), GENERATED_BYTES);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let secret = ForwardSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{secret:?}"), "ForwardSecret(redacted)");
    }
}
