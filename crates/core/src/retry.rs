use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// When failed events are retried: exponential backoff with jitter, then a dead letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first (live) one included; after the last the event is dead.
    pub max_attempts: u32,
    /// The delay after the first failed attempt, before jitter.
    pub base_delay: Duration,
    /// No delay is longer than this, before jitter.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Ten attempts, 30 s doubling up to 1 h: 30 s, 1 min, 2, 4, 8, 16, 32 min, then hourly;
    /// an event is dead about three and a half hours after its first failure.
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_hours(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt once `failed_attempts` have failed, or `None` when no
    /// attempt is left. The delay is `base * 2^(failed_attempts - 1)`, capped at `max_delay`,
    /// then drawn between half and all of it by `seed` (jitter spreads retries of events that
    /// failed together); the same seed and count always give the same delay.
    #[must_use]
    pub fn next_delay(&self, failed_attempts: u32, seed: u64) -> Option<Duration> {
        if failed_attempts >= self.max_attempts {
            return None;
        }
        let doublings = failed_attempts.saturating_sub(1).min(31);
        let full = self.base_delay.saturating_mul(1u32 << doublings).min(self.max_delay);
        let half = full / 2;
        let span = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let jitter = mix(seed ^ u64::from(failed_attempts)) % span.saturating_add(1);
        Some(half + Duration::from_millis(jitter))
    }
}

impl RetryPolicy {
    /// When the next attempt is due, `now` plus [`RetryPolicy::next_delay`], or `None` when
    /// no attempt is left (the event or entry is dead). The one place that decides both.
    #[must_use]
    pub fn next_attempt_at(
        &self,
        now: DateTime<Utc>,
        failed_attempts: u32,
        seed: u64,
    ) -> Option<DateTime<Utc>> {
        let delay = self.next_delay(failed_attempts, seed)?;
        Some(
            TimeDelta::from_std(delay)
                .ok()
                .and_then(|delay| now.checked_add_signed(delay))
                .unwrap_or(now),
        )
    }
}

/// `SplitMix64`'s finaliser: a well-spread hash of the seed.
const fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(25),
        }
    }

    #[test]
    fn delays_double_within_jitter_and_are_capped() {
        for seed in 0..200 {
            let first = policy().next_delay(1, seed).unwrap();
            assert!(first >= Duration::from_secs(5) && first <= Duration::from_secs(10));
            let second = policy().next_delay(2, seed).unwrap();
            assert!(second >= Duration::from_secs(10) && second <= Duration::from_secs(20));
            let capped = policy().next_delay(4, seed).unwrap();
            assert!(capped >= Duration::from_millis(12_500) && capped <= Duration::from_secs(25));
        }
    }

    #[test]
    fn jitter_spreads_events_and_is_repeatable() {
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|seed| policy().next_delay(1, seed).unwrap()).collect();
        assert!(delays.len() > 25, "jitter spreads retries: {delays:?}");
        assert_eq!(policy().next_delay(3, 42), policy().next_delay(3, 42));
    }

    #[test]
    fn the_next_attempt_is_due_after_the_delay_and_never_after_the_last() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let next = policy().next_attempt_at(now, 1, 7).unwrap();
        assert_eq!(next - now, TimeDelta::from_std(policy().next_delay(1, 7).unwrap()).unwrap());
        assert_eq!(policy().next_attempt_at(now, 5, 7), None);
    }

    #[test]
    fn after_the_last_attempt_the_event_is_dead() {
        assert!(policy().next_delay(4, 1).is_some());
        assert_eq!(policy().next_delay(5, 1), None);
        assert_eq!(policy().next_delay(6, 1), None);
    }
}
