//! `server.rate_limiting`: one token bucket for the whole server, asked by
//! every adapter before it does a request's work. Over the limit, NFS
//! answers NFS3ERR_JUKEBOX and S3 503 SlowDown, so clients retry later.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::RateLimiting;

#[derive(Default)]
pub struct RequestLimit(Option<DefaultDirectRateLimiter>);

impl RequestLimit {
    pub fn new(c: &RateLimiting) -> Self {
        match (
            c.enabled,
            NonZeroU32::new(c.requests_per_second),
            NonZeroU32::new(c.burst),
        ) {
            (true, Some(rate), Some(burst)) => Self(Some(RateLimiter::direct(
                Quota::per_second(rate).allow_burst(burst),
            ))),
            _ => Self(None),
        }
    }

    /// Whether a request may go ahead now (taking one token).
    pub fn admit(&self) -> bool {
        self.0.as_ref().is_none_or(|l| l.check().is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let off = RequestLimit::new(&RateLimiting::default());
        assert!((0..100_000).all(|_| off.admit()), "disabled admits all");
        let on = RequestLimit::new(&RateLimiting {
            enabled: true,
            requests_per_second: 1,
            burst: 5,
        });
        let admitted = (0..100).filter(|_| on.admit()).count();
        assert_eq!(admitted, 5, "the burst, then nothing until a token returns");
    }
}
