//! Fresh payment and payout ids, so every run is a new payment to the receiver.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

/// A fresh reference id, unique across runs and processes, shaped like PayRam's (a version 4
/// UUID): the clock in nanoseconds, the process id and a per-process counter, scrambled.
#[must_use]
pub fn fresh_reference() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos());
    // Both halves go through a bijection: distinct times give distinct high halves, and within
    // one nanosecond distinct processes or counts give distinct low halves.
    let high = splitmix64(u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0));
    let low = splitmix64(high ^ (u64::from(std::process::id()) << 32) ^ (count & 0xffff_ffff));
    let high = (high & !0xf000) | 0x4000; // version 4
    let low = (low & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
    let hex = format!("{high:016x}{low:016x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `SplitMix64`'s finaliser: a bijection of `u64` that scrambles every bit.
const fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh payout id: microseconds since the epoch plus a counter (below 2^53, so it survives
/// a JSON reader that uses doubles).
#[must_use]
pub fn fresh_payout_id() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros());
    u64::try_from(micros).unwrap_or(0).wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_differ_and_look_like_uuids() {
        let (first, second) = (fresh_reference(), fresh_reference());
        assert_ne!(first, second);
        assert_eq!(first.len(), 36);
        assert_eq!(first.matches('-').count(), 4);
        assert_eq!(&first[14..15], "4", "version 4: {first}");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"), "variant: {first}");
        assert_ne!(fresh_payout_id(), fresh_payout_id());
        assert!(fresh_payout_id() < 1 << 53);
    }
}
