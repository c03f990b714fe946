//! Arbitrary credentials and bodies against a fixed key list: `authenticate` never panics,
//! accepts exactly what it should, and a signature never survives a change to the body.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use payram_domain::AuthMethod;
use payram_protocol::{ApiKeys, AuthError, Credentials, authenticate, sign};

/// The configured keys: a short one, the shared test key, and one longer than the HMAC
/// block (64 bytes), which HMAC hashes first. None is a prefix of another, so no two are
/// the same HMAC key after zero padding.
const KEYS: [&str; 3] = [
    "old-project-key",
    "payram-test-project-api-key-0001",
    "rotated-project-key-that-is-longer-than-one-sha256-block-of-sixty-four-bytes-0002",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// `X-Payram-Signature`.
    signature: Header<'a>,
    /// `API-Key` as sent, if sent.
    api_key: Option<&'a [u8]>,
    require_signature: bool,
    /// Which configured key signs the valid signature.
    key: u8,
    /// Where to change the body or a key, and how (XOR with a non-zero mask).
    flip_at: usize,
    flip_mask: u8,
    body: &'a [u8],
}

/// How the signature header is sent.
#[derive(Arbitrary, Debug)]
enum Header<'a> {
    Absent,
    /// Any bytes at all.
    Raw(&'a [u8]),
    /// The real signature of the body under `KEYS[key % 3]`, written in one of the forms
    /// PayRam's receivers accept (bits of `form`: upper-case hex, which `sha256=` prefix,
    /// surrounding blanks), or cut short by one character (bit 5), which must fail.
    Signed {
        key: u8,
        form: u8,
    },
}

impl Header<'_> {
    fn bytes(&self, body: &[u8]) -> Option<Vec<u8>> {
        match *self {
            Self::Absent => None,
            Self::Raw(bytes) => Some(bytes.to_vec()),
            Self::Signed { key, form } => {
                let signature = sign(KEYS[usize::from(key) % KEYS.len()].as_bytes(), body);
                let mut hex = signature["sha256=".len()..].to_owned();
                if form & 1 != 0 {
                    hex.make_ascii_uppercase();
                }
                if form & 0b10_0000 != 0 {
                    hex.pop();
                }
                let prefix = ["", "sha256=", "SHA256=", "Sha256="][usize::from(form >> 1) & 3];
                let before = if form & 0b1000 != 0 { " " } else { "" };
                let after = if form & 0b1_0000 != 0 { "\t " } else { "" };
                Some(format!("{before}{prefix}{hex}{after}").into_bytes())
            }
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let Ok(keys) = ApiKeys::new(KEYS) else {
        panic!("the fixed keys are valid");
    };
    sent_credentials(&keys, &input);
    valid_signature(&keys, &input);
});

/// Whatever is sent, the answer follows the rules, never a panic.
fn sent_credentials(keys: &ApiKeys, input: &Input<'_>) {
    let signature = input.signature.bytes(input.body);
    let credentials = Credentials { signature: signature.as_deref(), api_key: input.api_key };
    let result = authenticate(keys, credentials, input.body, input.require_signature);
    if let Header::Signed { key, form } = input.signature {
        let expected = if form & 0b10_0000 == 0 {
            Ok(AuthMethod::Signature { key_index: usize::from(key) % KEYS.len() })
        } else {
            Err(AuthError::BadSignature)
        };
        assert_eq!(result, expected, "form {form:#b}");
    }
    match result {
        Ok(AuthMethod::Signature { key_index }) => {
            // Only the real HMAC under that key, in any hex case, `sha256=` prefixed or not.
            let sent = std::str::from_utf8(signature.as_deref().unwrap_or_default());
            let sent = sent.unwrap_or_default().trim();
            let hex = sent
                .get(..7)
                .filter(|prefix| prefix.eq_ignore_ascii_case("sha256="))
                .map_or(sent, |_| &sent[7..]);
            let expected = sign(KEYS[key_index].as_bytes(), input.body);
            assert!(expected["sha256=".len()..].eq_ignore_ascii_case(hex), "{sent:?} accepted");
        }
        Ok(AuthMethod::ApiKey { key_index }) => {
            assert!(signature.is_none(), "a signature, when sent, decides");
            assert!(!input.require_signature, "API key accepted although a signature is required");
            assert_eq!(input.api_key, Some(KEYS[key_index].as_bytes()));
        }
        Err(AuthError::Missing) => assert!(signature.is_none() && input.api_key.is_none()),
        Err(AuthError::SignatureRequired) => {
            assert!(input.require_signature && signature.is_none() && input.api_key.is_some());
        }
        Err(AuthError::BadApiKey) => {
            assert!(signature.is_none());
            assert!(!KEYS.iter().any(|key| input.api_key == Some(key.as_bytes())));
        }
        Err(AuthError::BadSignature) => assert!(signature.is_some()),
    }
}

/// `sign(key, body)` always authenticates, whatever else is sent; the same signature over a
/// body with one changed byte, or a signature under a key with one changed byte, never does.
fn valid_signature(keys: &ApiKeys, input: &Input<'_>) {
    let index = usize::from(input.key) % KEYS.len();
    let key = KEYS[index].as_bytes();
    let signature = sign(key, input.body);
    let credentials = Credentials { signature: Some(signature.as_bytes()), api_key: input.api_key };
    assert_eq!(
        authenticate(keys, credentials, input.body, input.require_signature),
        Ok(AuthMethod::Signature { key_index: index })
    );

    let mask = input.flip_mask.max(1);
    if !input.body.is_empty() {
        let mut tampered = input.body.to_vec();
        let at = input.flip_at % tampered.len();
        tampered[at] ^= mask;
        assert_eq!(
            authenticate(keys, credentials, &tampered, input.require_signature),
            Err(AuthError::BadSignature),
            "a changed body kept its signature"
        );
    }

    let mut other_key = key.to_vec();
    other_key[input.flip_at % key.len()] ^= mask;
    let forged = sign(&other_key, input.body);
    let credentials = Credentials { signature: Some(forged.as_bytes()), api_key: input.api_key };
    assert_eq!(
        authenticate(keys, credentials, input.body, input.require_signature),
        Err(AuthError::BadSignature),
        "a signature under an unknown key was accepted"
    );
}
