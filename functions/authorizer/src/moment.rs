//! The moment a decision is made, read once and passed down: wall-clock seconds for the
//! claims (`exp`, `nbf`), a monotonic instant for the caches and the key sets' refresh.
//! A test passes a later moment instead of sleeping.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One moment, on both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    wall: SystemTime,
    instant: Instant,
}

impl Moment {
    /// This moment.
    pub fn now() -> Self {
        Self {
            wall: SystemTime::now(),
            instant: Instant::now(),
        }
    }

    /// The moment `by` after this one, on both clocks.
    pub fn later(self, by: Duration) -> Self {
        Self {
            wall: self.wall + by,
            instant: self.instant + by,
        }
    }

    /// Whole seconds since the Unix epoch, as claims count time.
    pub fn epoch_seconds(self) -> u64 {
        self.wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Milliseconds since the Unix epoch, as plans' windows count time.
    pub fn epoch_millis(self) -> u64 {
        self.wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The monotonic instant, as the caches count time.
    pub fn instant(self) -> Instant {
        self.instant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_moment_is_later_by_the_same_amount_on_both_clocks() {
        let now = Moment::now();
        let later = now.later(Duration::from_secs(90));
        assert_eq!(later.epoch_seconds() - now.epoch_seconds(), 90);
        assert_eq!(later.instant() - now.instant(), Duration::from_secs(90));
    }
}
