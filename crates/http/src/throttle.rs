//! Limits on guessing: failed authentications counted per client address in a token bucket
//! (`AUTH_FAILURE_LIMIT` a minute, that many at once), in a bounded LRU so that memory stays
//! the same whatever the number of addresses. Counters live in this process's memory.

use std::{
    net::IpAddr,
    num::NonZeroUsize,
    sync::Mutex,
    time::{Duration, Instant},
};

use lru::LruCache;

/// The refill period: `limit` failures a minute.
const WINDOW: Duration = Duration::from_mins(1);

/// Addresses remembered at once (about 100 bytes each). When more addresses fail at the same
/// time, the one that failed longest ago is forgotten first.
pub const TRACKED_ADDRESSES: usize = 16_384;

/// The failed authentications of one kind (webhook credentials, or admin tokens), per client
/// address. A generic cell rate: each failure takes `WINDOW / limit` of an address's budget
/// of one `WINDOW`, which refills continuously.
#[derive(Debug)]
pub struct FailureLimiter {
    /// Time a failure costs; `None` when the limit is 0 (no limit).
    cost: Option<Duration>,
    /// Per address: when its budget will be whole again.
    debts: Mutex<LruCache<IpAddr, Instant>>,
}

/// Over the limit: try again in this many whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl FailureLimiter {
    /// `limit` failures a minute per address (and that many at once); 0 turns limiting off.
    #[must_use]
    pub fn per_minute(limit: u32) -> Self {
        Self::with_capacity(limit, TRACKED_ADDRESSES)
    }

    fn with_capacity(limit: u32, addresses: usize) -> Self {
        let cost = (limit > 0).then(|| WINDOW / limit);
        let capacity = NonZeroUsize::new(addresses).unwrap_or(NonZeroUsize::MIN);
        Self { cost, debts: Mutex::new(LruCache::new(capacity)) }
    }

    /// Whether `addr` may fail once more now; `Err` says when it may.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), RetryAfter> {
        let Some(cost) = self.cost else { return Ok(()) };
        let debts = self.lock();
        let whole_at = debts.peek(&addr).copied().unwrap_or(now).max(now);
        Self::room(whole_at, cost, now)
    }

    /// Counts one failure of `addr`, when there is room for it; `Err` (nothing counted) when
    /// `addr` is over the limit.
    pub fn fail(&self, addr: IpAddr, now: Instant) -> Result<(), RetryAfter> {
        let Some(cost) = self.cost else { return Ok(()) };
        let mut debts = self.lock();
        let whole_at = debts.peek(&addr).copied().unwrap_or(now).max(now);
        Self::room(whole_at, cost, now)?;
        debts.put(addr, whole_at + cost);
        Ok(())
    }

    /// Addresses currently remembered (bounded by [`TRACKED_ADDRESSES`]).
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn room(whole_at: Instant, cost: Duration, now: Instant) -> Result<(), RetryAfter> {
        let after = (whole_at + cost).saturating_duration_since(now);
        let wait = after.saturating_sub(WINDOW);
        if wait.is_zero() {
            return Ok(());
        }
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Err(RetryAfter(secs.max(1)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<IpAddr, Instant>> {
        // A panic while holding the lock cannot leave the cache half-updated (each update is
        // one `put`), so a poisoned lock is still usable.
        self.debts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn an_address_may_fail_limit_times_then_waits_for_the_refill() {
        let limiter = FailureLimiter::per_minute(20);
        let now = Instant::now();
        for _ in 0..20 {
            limiter.fail(ip(1), now).unwrap();
        }
        assert_eq!(limiter.fail(ip(1), now), Err(RetryAfter(3)), "one failure costs 3 s");
        assert_eq!(limiter.check(ip(1), now), Err(RetryAfter(3)));
        // Another address is not affected.
        limiter.fail(ip(2), now).unwrap();
        // The budget refills continuously: one failure every 3 s.
        let later = now + Duration::from_secs(3);
        limiter.fail(ip(1), later).unwrap();
        assert!(limiter.fail(ip(1), later).is_err());
        let much_later = later + WINDOW;
        for _ in 0..20 {
            limiter.fail(ip(1), much_later).unwrap();
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let limiter = FailureLimiter::per_minute(7); // 8.57 s a failure
        let now = Instant::now();
        for _ in 0..7 {
            limiter.fail(ip(1), now).unwrap();
        }
        assert_eq!(limiter.check(ip(1), now), Err(RetryAfter(9)));
        assert_eq!(limiter.check(ip(1), now + Duration::from_secs(8)), Err(RetryAfter(1)));
        assert_eq!(limiter.check(ip(1), now + Duration::from_millis(8572)), Ok(()));
    }

    #[test]
    fn a_limit_of_zero_limits_nothing() {
        let limiter = FailureLimiter::per_minute(0);
        let now = Instant::now();
        for _ in 0..1000 {
            limiter.fail(ip(1), now).unwrap();
        }
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn memory_is_bounded_whatever_the_number_of_addresses() {
        let limiter = FailureLimiter::with_capacity(20, 100);
        let now = Instant::now();
        for n in 0..10_000_u32 {
            limiter.fail(IpAddr::from(n.to_be_bytes()), now).unwrap();
        }
        assert_eq!(limiter.tracked(), 100);
        assert_eq!(
            FailureLimiter::per_minute(20).debts.lock().unwrap().cap().get(),
            TRACKED_ADDRESSES
        );
    }
}
