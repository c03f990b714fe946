//! HMAC-SHA256 (RFC 2104) as plain functions that cannot fail.
//!
//! HMAC takes keys of any length, but the `hmac` crate's `new_from_slice` still returns a
//! `Result`, which callers used to answer with a panic or an empty MAC. Here the key is first
//! turned into the 64-byte block key the RFC defines (a longer key is hashed with SHA-256, then
//! the key is padded with zeros), and the MAC is built with the constructor that takes exactly
//! a block-sized key, whose type leaves no error to handle.

use hmac::{Hmac, Mac, digest::Key};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `key`: the 32-byte tag.
///
/// Any key length is accepted, including empty keys and keys longer than SHA-256's 64-byte
/// block (which RFC 2104 hashes first). To check a tag received from elsewhere, compare it in
/// constant time (as [`crate::authenticate`] does), never with `==`.
///
/// # Examples
///
/// RFC 4231, test case 2:
///
/// ```
/// use payram_protocol::hmac_sha256;
///
/// let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
/// assert_eq!(
///     hex::encode(tag),
///     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
/// );
/// ```
///
/// It is the MAC behind PayRam's `X-Payram-Signature` (see [`crate::sign`]):
///
/// ```
/// use payram_protocol::{hmac_sha256, sign};
///
/// let key = b"payram-test-project-api-key-0001";
/// let body = br#"{"event_type":"payout.ping"}"#;
/// assert_eq!(sign(key, body), format!("sha256={}", hex::encode(hmac_sha256(key, body))));
/// ```
#[must_use]
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac_sha256_parts(key, &[message])
}

/// HMAC-SHA256 under `key` of the concatenation of `parts`, without copying them into one
/// buffer: for messages built from pieces, such as Standard Webhooks' `id.timestamp.body`.
///
/// # Examples
///
/// ```
/// use payram_protocol::{hmac_sha256, hmac_sha256_parts};
///
/// let key = b"whsec key bytes";
/// let timestamp = 1_614_265_330.to_string();
/// let parts: [&[u8]; 5] = [b"msg_1", b".", timestamp.as_bytes(), b".", b"{}"];
/// assert_eq!(
///     hmac_sha256_parts(key, &parts),
///     hmac_sha256(key, b"msg_1.1614265330.{}")
/// );
/// ```
#[must_use]
pub fn hmac_sha256_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new(&block_key(key));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// RFC 2104's key for a hash with 64-byte blocks: a key longer than the block is replaced by
/// its SHA-256 digest, and the result is padded with zeros to the block size. HMAC under this
/// block key equals HMAC under `key`.
/// An HMAC-SHA256 key made ready once: the key's inner and outer pads are hashed when it is
/// made, so each message costs only its own hashing. For a key used on every request.
///
/// ```
/// use payram_protocol::{HmacKey, hmac_sha256};
///
/// let key = HmacKey::new(b"payram-test-project-api-key-0001");
/// assert_eq!(key.mac(b"{}"), hmac_sha256(b"payram-test-project-api-key-0001", b"{}"));
/// ```
#[derive(Clone)]
pub struct HmacKey(HmacSha256);

impl HmacKey {
    /// Prepares `key` (of any length, as [`hmac_sha256`] takes it).
    #[must_use]
    pub fn new(key: &[u8]) -> Self {
        Self(<HmacSha256 as Mac>::new(&block_key(key)))
    }

    /// The HMAC-SHA256 of `message` under this key.
    #[must_use]
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for HmacKey {
    /// Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(redacted)")
    }
}

fn block_key(key: &[u8]) -> Key<HmacSha256> {
    let mut block = Key::<HmacSha256>::default();
    let digest;
    let source = if key.len() > block.len() {
        digest = Sha256::digest(key);
        digest.as_slice()
    } else {
        key
    };
    for (slot, byte) in block.iter_mut().zip(source) {
        *slot = *byte;
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(key: &[u8], message: &[u8], expected_hex: &str) {
        assert_eq!(hex::encode(hmac_sha256(key, message)), expected_hex);
    }

    /// RFC 4231, section 4: the HMAC-SHA-256 line of each test case.
    #[test]
    fn rfc_4231_test_case_1() {
        check(
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        );
    }

    #[test]
    fn rfc_4231_test_case_2_a_key_shorter_than_the_tag() {
        check(
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        );
    }

    #[test]
    fn rfc_4231_test_case_3() {
        check(
            &[0xaa; 20],
            &[0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        );
    }

    #[test]
    fn rfc_4231_test_case_4() {
        let key: Vec<u8> = (1..=25).collect();
        check(
            &key,
            &[0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        );
    }

    #[test]
    fn rfc_4231_test_case_5_truncated_to_128_bits() {
        let tag = hmac_sha256(&[0x0c; 20], b"Test With Truncation");
        assert_eq!(hex::encode(&tag[..16]), "a3b6167473100ee06e0c796c2955552b");
    }

    #[test]
    fn rfc_4231_test_case_6_a_131_byte_key_is_hashed_first() {
        check(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        );
    }

    #[test]
    fn rfc_4231_test_case_7_a_long_key_and_a_long_message() {
        check(
            &[0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size \
              data. The key needs to be hashed before being used by the HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        );
    }

    /// Around the block size, where RFC 2104 switches from padding to hashing the key, the
    /// result equals the `hmac` crate's own `new_from_slice`.
    #[test]
    fn every_key_length_matches_the_hmac_crate() {
        for length in [0, 1, 31, 32, 33, 63, 64, 65, 128, 131, 1000] {
            let key: Vec<u8> = (0..length).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let mut reference = HmacSha256::new_from_slice(&key).unwrap();
            reference.update(b"message");
            let expected: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(hmac_sha256(&key, b"message"), expected, "key of {length} bytes");
        }
    }

    #[test]
    fn parts_are_concatenated() {
        let key = b"k";
        assert_eq!(hmac_sha256_parts(key, &[b"ab", b"", b"c"]), hmac_sha256(key, b"abc"));
        assert_eq!(hmac_sha256_parts(key, &[]), hmac_sha256(key, b""));
    }
}
