use std::fmt;

use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use payram_domain::AuthMethod;

use crate::{HmacKey, hmac_sha256};

/// The configured project API keys, oldest first or in any order: every one is accepted.
/// `Debug` never shows a key.
///
/// ```
/// use payram_protocol::ApiKeys;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = ApiKeys::from_comma_separated("old-key, payram-test-project-api-key-0001")?;
/// assert_eq!(keys.len(), 2);
/// assert_eq!(keys.first(), b"old-key");
/// assert_eq!(format!("{keys:?}"), "ApiKeys(2 redacted)");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ApiKeys(Vec<Key>);

#[derive(Clone)]
struct Key {
    /// The key itself, zeroed on drop (`secrecy`).
    secret: SecretSlice<u8>,
    /// The key's HMAC pads, hashed once: a signature costs the body's hashing only.
    mac: HmacKey,
    digest: [u8; 32],
}

/// Why a key list cannot be used.
///
/// ```
/// use payram_protocol::{ApiKeys, KeysError};
///
/// assert_eq!(ApiKeys::from_comma_separated("").err(), Some(KeysError::None));
/// assert_eq!(ApiKeys::new(["a", " "]).err(), Some(KeysError::Blank(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    #[error("no PayRam API key is configured")]
    None,
    #[error("API key number {0} (counting from 1) is blank")]
    Blank(usize),
}

/// The authentication headers of one request, as raw bytes (absent when not sent).
///
/// ```
/// use payram_protocol::Credentials;
///
/// // Only the signature header was sent.
/// let credentials = Credentials { signature: Some(b"sha256=00ff"), ..Credentials::default() };
/// assert!(credentials.api_key.is_none());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    /// `X-Payram-Signature`.
    pub signature: Option<&'a [u8]>,
    /// `API-Key` (any case).
    pub api_key: Option<&'a [u8]>,
}

/// Why a request is not from PayRam. Every variant answers 401.
///
/// ```
/// use payram_protocol::{ApiKeys, AuthError, Credentials, authenticate};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = ApiKeys::new(["payram-test-project-api-key-0001"])?;
/// let nothing = Credentials::default();
/// assert_eq!(authenticate(&keys, nothing, b"{}", false), Err(AuthError::Missing));
/// let key = b"payram-test-project-api-key-0001";
/// let legacy = Credentials { signature: None, api_key: Some(key) };
/// assert_eq!(authenticate(&keys, legacy, b"{}", true), Err(AuthError::SignatureRequired));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("signature does not match the body under any configured key")]
    BadSignature,
    #[error("API key matches no configured key")]
    BadApiKey,
    #[error("a signature is required and only an API key was sent")]
    SignatureRequired,
    #[error("no signature and no API key")]
    Missing,
}

impl ApiKeys {
    /// Accepts one or more non-blank keys, kept in the given order (positions are reported).
    ///
    /// ```
    /// use payram_protocol::{ApiKeys, KeysError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = ApiKeys::new([b"first".to_vec(), b"second".to_vec()])?;
    /// assert_eq!(keys.len(), 2);
    /// assert_eq!(ApiKeys::new(Vec::<String>::new()).err(), Some(KeysError::None));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new<I, S>(keys: I) -> Result<Self, KeysError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let keys: Vec<Key> = keys
            .into_iter()
            .enumerate()
            .map(|(index, key)| {
                let secret = key.as_ref().to_vec();
                if secret.iter().all(u8::is_ascii_whitespace) {
                    return Err(KeysError::Blank(index + 1));
                }
                let digest = Sha256::digest(&secret).into();
                Ok(Key { mac: HmacKey::new(&secret), secret: secret.into(), digest })
            })
            .collect::<Result<_, _>>()?;
        if keys.is_empty() {
            return Err(KeysError::None);
        }
        Ok(Self(keys))
    }

    /// Parses `PAYRAM_API_KEYS`: comma-separated, blanks around each key trimmed.
    ///
    /// ```
    /// use payram_protocol::{ApiKeys, KeysError};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = ApiKeys::from_comma_separated(" new-key , old-key ")?;
    /// assert_eq!((keys.len(), keys.first()), (2, &b"new-key"[..]));
    /// assert_eq!(ApiKeys::from_comma_separated("a,,b").err(), Some(KeysError::Blank(2)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_comma_separated(list: &str) -> Result<Self, KeysError> {
        if list.trim().is_empty() {
            return Err(KeysError::None);
        }
        Self::new(list.split(',').map(str::trim))
    }

    /// How many keys are configured.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(payram_protocol::ApiKeys::new(["k"])?.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a key list holds at least one key.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert!(!payram_protocol::ApiKeys::new(["k"])?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first key, used when this service itself calls PayRam.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = payram_protocol::ApiKeys::new(["newest", "older"])?;
    /// assert_eq!(keys.first(), b"newest");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn first(&self) -> &[u8] {
        self.0.first().map_or(&[], |key| key.secret.expose_secret())
    }
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeys({} redacted)", self.0.len())
    }
}

/// Authenticates one request, in PayRam's order:
/// 1. a signature, when present, must be the HMAC-SHA256 of the raw body under some key
///    (hex in any case, optional `sha256=` prefix), whatever else is sent;
/// 2. otherwise, unless `require_signature`, the `API-Key` header must equal some key;
/// 3. otherwise the request is refused.
///
/// Every comparison is constant-time.
///
/// # Examples
///
/// A body from `../shared/vectors` with its signature from `signatures.tsv`, checked against a
/// rotated key list; the matching key is reported by position:
///
/// ```
/// use payram_domain::AuthMethod;
/// use payram_protocol::{ApiKeys, AuthError, Credentials, authenticate};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = ApiKeys::from_comma_separated("old-key,payram-test-project-api-key-0001")?;
/// let body = br#"{"event_type":"payout.ping"}"#;
/// let header = "sha256=c25b80ad433b47a8d20b8839e4cfd30a06d51f286af4784f81ec2500b54ebcbb";
/// let signed = Credentials { signature: Some(header.as_bytes()), api_key: None };
/// assert_eq!(authenticate(&keys, signed, body, true), Ok(AuthMethod::Signature { key_index: 1 }));
///
/// // Hex in upper case and without the prefix is accepted too.
/// let bare = header.trim_start_matches("sha256=").to_ascii_uppercase();
/// let signed = Credentials { signature: Some(bare.as_bytes()), api_key: None };
/// assert!(authenticate(&keys, signed, body, true).is_ok());
///
/// // One changed byte fails, whatever else is sent.
/// let signed = Credentials { signature: Some(header.as_bytes()), api_key: Some(b"old-key") };
/// assert_eq!(authenticate(&keys, signed, b"{}", false), Err(AuthError::BadSignature));
///
/// // The legacy header alone, when signatures are not required.
/// let legacy = Credentials { signature: None, api_key: Some(b"old-key") };
/// assert_eq!(authenticate(&keys, legacy, body, false), Ok(AuthMethod::ApiKey { key_index: 0 }));
/// # Ok(())
/// # }
/// ```
pub fn authenticate(
    keys: &ApiKeys,
    credentials: Credentials<'_>,
    body: &[u8],
    require_signature: bool,
) -> Result<AuthMethod, AuthError> {
    if let Some(signature) = credentials.signature {
        let expected = decode_signature(signature).ok_or(AuthError::BadSignature)?;
        return keys
            .0
            .iter()
            .position(|key| verify(&key.mac, body, &expected))
            .map(|key_index| AuthMethod::Signature { key_index })
            .ok_or(AuthError::BadSignature);
    }
    let Some(api_key) = credentials.api_key else {
        return Err(AuthError::Missing);
    };
    if require_signature {
        return Err(AuthError::SignatureRequired);
    }
    // Comparing digests keeps the comparison constant-time whatever the lengths; every key is
    // compared so the time does not depend on which one matches.
    let digest: [u8; 32] = Sha256::digest(api_key).into();
    let mut matched = None;
    for (index, key) in keys.0.iter().enumerate() {
        if bool::from(key.digest.ct_eq(&digest)) && matched.is_none() {
            matched = Some(index);
        }
    }
    matched.map(|key_index| AuthMethod::ApiKey { key_index }).ok_or(AuthError::BadApiKey)
}

/// The `X-Payram-Signature` value PayRam sends for `body` under `key`: `sha256=<lower hex>`.
///
/// Useful to test a receiver, or to replay a stored body. It is [`crate::hmac_sha256`] in hex.
///
/// ```
/// use payram_protocol::sign;
///
/// // `payout_ping.json` of the shared vectors under the test key (`signatures.tsv`).
/// assert_eq!(
///     sign(b"payram-test-project-api-key-0001", br#"{"event_type":"payout.ping"}"#),
///     "sha256=c25b80ad433b47a8d20b8839e4cfd30a06d51f286af4784f81ec2500b54ebcbb"
/// );
/// ```
#[must_use]
pub fn sign(key: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(key, body)))
}

/// Whether `expected` is the HMAC of `body` under `key`, compared in constant time.
fn verify(key: &HmacKey, body: &[u8], expected: &[u8]) -> bool {
    bool::from(key.mac(body).as_slice().ct_eq(expected))
}

fn decode_signature(header: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let hex_part = match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &text[7..],
        _ => text,
    };
    let bytes = hex::decode(hex_part).ok()?;
    (bytes.len() == 32).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "payram-test-project-api-key-0001";
    const BODY: &[u8] = br#"{"reference_id":"r","status":"FILLED"}"#;

    fn keys() -> ApiKeys {
        ApiKeys::from_comma_separated(&format!("old-key, {KEY}")).unwrap()
    }

    fn with_signature(signature: &str) -> Credentials<'_> {
        Credentials { signature: Some(signature.as_bytes()), api_key: None }
    }

    #[test]
    fn a_signature_under_any_key_authenticates_and_names_its_position() {
        let signature = sign(KEY.as_bytes(), BODY);
        assert_eq!(
            authenticate(&keys(), with_signature(&signature), BODY, true),
            Ok(AuthMethod::Signature { key_index: 1 })
        );
    }

    #[test]
    fn signature_hex_may_be_upper_case_and_unprefixed() {
        let signature = sign(KEY.as_bytes(), BODY);
        let bare = signature.trim_start_matches("sha256=").to_ascii_uppercase();
        assert!(authenticate(&keys(), with_signature(&bare), BODY, false).is_ok());
        let upper_prefix = format!("SHA256={bare}");
        assert!(authenticate(&keys(), with_signature(&upper_prefix), BODY, false).is_ok());
    }

    #[test]
    fn one_changed_byte_fails_even_with_a_valid_api_key() {
        let signature = sign(KEY.as_bytes(), BODY);
        let mut tampered = BODY.to_vec();
        tampered[5] ^= 1;
        let credentials =
            Credentials { signature: Some(signature.as_bytes()), api_key: Some(KEY.as_bytes()) };
        assert_eq!(
            authenticate(&keys(), credentials, &tampered, false),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn garbage_signatures_are_refused() {
        for signature in ["", "sha256=", "sha256=zz", "abc", &"00".repeat(31)] {
            assert_eq!(
                authenticate(&keys(), with_signature(signature), BODY, false),
                Err(AuthError::BadSignature)
            );
        }
    }

    #[test]
    fn the_legacy_header_authenticates_unless_a_signature_is_required() {
        let credentials = Credentials { signature: None, api_key: Some(b"old-key") };
        assert_eq!(
            authenticate(&keys(), credentials, BODY, false),
            Ok(AuthMethod::ApiKey { key_index: 0 })
        );
        assert_eq!(
            authenticate(&keys(), credentials, BODY, true),
            Err(AuthError::SignatureRequired)
        );
    }

    #[test]
    fn a_wrong_or_missing_key_is_refused() {
        let wrong = Credentials { signature: None, api_key: Some(b"old-key ") };
        assert_eq!(authenticate(&keys(), wrong, BODY, false), Err(AuthError::BadApiKey));
        assert_eq!(
            authenticate(&keys(), Credentials::default(), BODY, false),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn the_shared_vectors_signature_matches() {
        // From ../shared/vectors/signatures.tsv: payout_ping.json under the test key.
        assert_eq!(
            sign(KEY.as_bytes(), br#"{"event_type":"payout.ping"}"#),
            "sha256=c25b80ad433b47a8d20b8839e4cfd30a06d51f286af4784f81ec2500b54ebcbb"
        );
    }

    /// Every body of the shared vectors (copied into `tests/fixtures/vectors`) authenticates
    /// with the signature `signatures.tsv` gives it, and `sign` reproduces that signature.
    #[test]
    fn every_vector_signature_in_signatures_tsv_verifies() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/vectors");
        let table = std::fs::read_to_string(dir.join("signatures.tsv")).unwrap();
        let keys = ApiKeys::new([KEY]).unwrap();
        let mut checked = 0;
        for line in table.lines().filter(|line| !line.starts_with('#')).skip(1) {
            let (file, signature) = line.split_once('\t').unwrap();
            let body = std::fs::read(dir.join(file)).unwrap();
            assert_eq!(sign(KEY.as_bytes(), &body), signature, "{file}");
            assert_eq!(
                authenticate(&keys, with_signature(signature), &body, true),
                Ok(AuthMethod::Signature { key_index: 0 }),
                "{file}"
            );
            checked += 1;
        }
        assert_eq!(checked, 29, "every vector, the negative ones included");
    }

    #[test]
    fn key_lists_refuse_blanks_and_emptiness_and_never_print_keys() {
        assert_eq!(ApiKeys::from_comma_separated(" ").unwrap_err(), KeysError::None);
        assert_eq!(ApiKeys::from_comma_separated("a,,b").unwrap_err(), KeysError::Blank(2));
        assert_eq!(format!("{:?}", keys()), "ApiKeys(2 redacted)");
    }
}
