//! Hybrid logical clock (HLC): an ordering of events that survives wrong phone clocks.
//!
//! Cheap phones in the field have clocks that are minutes, hours or days off, and users change
//! them. Ordering sync commands by wall time would reorder a worker's own edits the moment the
//! clock is corrected. An HLC timestamp is `(wall_ms, counter, node)`: it follows the largest
//! physical time it has seen, never goes backwards when the local clock does, and after
//! receiving a remote timestamp every later local timestamp sorts after it (causality).
//! Statutory deadlines never use it: they use server time and the working-day calendar.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One HLC timestamp. Ordered by wall time, then counter, then node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch: the largest physical time seen so far.
    pub wall_ms: u64,
    /// Events within the same `wall_ms`.
    pub counter: u32,
    /// The clock that made the timestamp; breaks ties between devices.
    pub node: u32,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall_ms, self.counter, self.node).cmp(&(other.wall_ms, other.counter, other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The largest wall time the text form can hold (15 decimal digits: year 33658).
const MAX_WALL_MS: u64 = 999_999_999_999_999;

impl fmt::Display for Hlc {
    /// Fixed-width text whose byte order equals the timestamp order, so it can be stored in a
    /// TEXT column and compared there.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:015}-{:08x}-{:08x}",
            self.wall_ms, self.counter, self.node
        )
    }
}

/// Why a string is not an HLC timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("逻辑时钟格式不正确：{0}")]
pub struct HlcParseError(pub String);

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HlcParseError(s.to_owned());
        let mut parts = s.split('-');
        let (Some(w), Some(c), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        if w.len() != 15 || c.len() != 8 || n.len() != 8 {
            return Err(err());
        }
        Ok(Hlc {
            wall_ms: w.parse().map_err(|_| err())?,
            counter: u32::from_str_radix(c, 16).map_err(|_| err())?,
            node: u32::from_str_radix(n, 16).map_err(|_| err())?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A clock owned by one device or server process. Feed it the physical time; it returns
/// timestamps that only ever increase.
#[derive(Debug, Clone)]
pub struct HlcClock {
    node: u32,
    last_wall: u64,
    last_counter: u32,
}

impl HlcClock {
    pub fn new(node: u32) -> HlcClock {
        HlcClock {
            node,
            last_wall: 0,
            last_counter: 0,
        }
    }

    /// Resume from the last timestamp this node persisted, so a restart cannot go backwards
    /// even if the phone's clock was turned back while the app was closed.
    pub fn resume(node: u32, last: Hlc) -> HlcClock {
        HlcClock {
            node,
            last_wall: last.wall_ms,
            last_counter: last.counter,
        }
    }

    pub fn node(&self) -> u32 {
        self.node
    }

    /// The last timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        Hlc {
            wall_ms: self.last_wall,
            counter: self.last_counter,
            node: self.node,
        }
    }

    /// A timestamp for a local event (a new command) at physical time `physical_ms`.
    pub fn tick(&mut self, physical_ms: u64) -> Hlc {
        let physical_ms = physical_ms.min(MAX_WALL_MS);
        if physical_ms > self.last_wall {
            self.last_wall = physical_ms;
            self.last_counter = 0;
        } else {
            self.bump();
        }
        self.last()
    }

    /// Take in a timestamp from another node (a pulled change, a pushed command). Every later
    /// local timestamp sorts after `remote`.
    pub fn observe(&mut self, remote: Hlc, physical_ms: u64) -> Hlc {
        let physical_ms = physical_ms.min(MAX_WALL_MS);
        let remote_wall = remote.wall_ms.min(MAX_WALL_MS);
        let wall = self.last_wall.max(remote_wall).max(physical_ms);
        if wall == self.last_wall && wall == remote_wall {
            self.last_counter = self.last_counter.max(remote.counter);
            self.bump();
        } else if wall == self.last_wall {
            self.bump();
        } else if wall == remote_wall {
            self.last_wall = wall;
            self.last_counter = remote.counter;
            self.bump();
        } else {
            self.last_wall = wall;
            self.last_counter = 0;
        }
        self.last()
    }

    /// How far `remote` is ahead of the local physical clock, in ms (negative: behind). Worth
    /// logging: a phone days ahead drags every clock it talks to forward.
    pub fn skew_ms(remote: Hlc, physical_ms: u64) -> i128 {
        i128::from(remote.wall_ms) - i128::from(physical_ms)
    }

    fn bump(&mut self) {
        // A counter overflow (4 billion events in one millisecond) borrows the next
        // millisecond rather than wrapping, which would go backwards.
        match self.last_counter.checked_add(1) {
            Some(c) => self.last_counter = c,
            None => {
                self.last_wall = self.last_wall.saturating_add(1);
                self.last_counter = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY_MS: u64 = 86_400_000;
    const T0: u64 = 1_780_000_000_000;

    #[test]
    fn text_form_round_trips_and_sorts() {
        let a = Hlc {
            wall_ms: T0,
            counter: 2,
            node: 7,
        };
        let b = Hlc {
            wall_ms: T0,
            counter: 10,
            node: 1,
        };
        assert_eq!(a.to_string().parse::<Hlc>(), Ok(a));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert!("x".parse::<Hlc>().is_err());
        assert!("000000000000001-00000001".parse::<Hlc>().is_err());
        let json = serde_json::to_string(&a).expect("ser");
        assert_eq!(serde_json::from_str::<Hlc>(&json).expect("de"), a);
    }

    #[test]
    fn clock_turned_back_by_days_still_advances() {
        let mut c = HlcClock::new(1);
        let a = c.tick(T0);
        let b = c.tick(T0 - 3 * DAY_MS);
        let d = c.tick(T0 - 3 * DAY_MS + 5);
        assert!(a < b && b < d);
        assert_eq!(d.wall_ms, T0);
    }

    #[test]
    fn counter_overflow_borrows_next_millisecond() {
        let mut c = HlcClock::resume(
            1,
            Hlc {
                wall_ms: T0,
                counter: u32::MAX,
                node: 1,
            },
        );
        let next = c.tick(T0);
        assert_eq!((next.wall_ms, next.counter), (T0 + 1, 0));
    }

    #[test]
    fn resume_never_goes_back() {
        let mut c = HlcClock::new(3);
        let a = c.tick(T0);
        let mut restarted = HlcClock::resume(3, a);
        assert!(restarted.tick(T0 - DAY_MS) > a);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Tick {
            clock: usize,
            physical_offset: i64,
        },
        Send {
            from: usize,
            to: usize,
            physical_offset: i64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        // Offsets up to ±10 days: devices that disagree by days, clocks that jump back.
        let off = -10 * (DAY_MS as i64)..10 * (DAY_MS as i64);
        prop_oneof![
            (0usize..3, off.clone()).prop_map(|(clock, physical_offset)| Op::Tick {
                clock,
                physical_offset
            }),
            (0usize..3, 0usize..3, off).prop_map(|(from, to, physical_offset)| Op::Send {
                from,
                to,
                physical_offset
            }),
        ]
    }

    fn phys(offset: i64) -> u64 {
        (T0 as i64 + offset) as u64
    }

    proptest! {
        /// Every clock's timestamps strictly increase whatever its physical clock does, and a
        /// received timestamp always precedes everything the receiver issues afterwards.
        #[test]
        fn monotonic_and_causal(ops in proptest::collection::vec(op(), 1..200)) {
            let mut clocks = [HlcClock::new(0), HlcClock::new(1), HlcClock::new(2)];
            let mut last: [Option<Hlc>; 3] = [None; 3];
            let mut max_physical = 0u64;
            for op in ops {
                match op {
                    Op::Tick { clock, physical_offset } => {
                        let p = phys(physical_offset);
                        max_physical = max_physical.max(p);
                        let t = clocks[clock].tick(p);
                        if let Some(prev) = last[clock] { prop_assert!(t > prev); }
                        prop_assert!(t.wall_ms >= p);
                        last[clock] = Some(t);
                    }
                    Op::Send { from, to, physical_offset } => {
                        let p = phys(physical_offset);
                        max_physical = max_physical.max(p);
                        let sent = clocks[from].tick(p);
                        if let Some(prev) = last[from] { prop_assert!(sent > prev); }
                        last[from] = Some(sent);
                        let received = clocks[to].observe(sent, p);
                        prop_assert!(received > sent);
                        if let Some(prev) = last[to] { prop_assert!(received > prev); }
                        last[to] = Some(received);
                    }
                }
                // Bounded: no clock runs ahead of the largest physical time ever seen
                // (counter overflow aside, which these sizes cannot reach).
                for c in &clocks {
                    prop_assert!(c.last().wall_ms <= max_physical);
                }
            }
        }

        #[test]
        fn text_order_equals_timestamp_order(
            a in (0u64..MAX_WALL_MS, any::<u32>(), any::<u32>()),
            b in (0u64..MAX_WALL_MS, any::<u32>(), any::<u32>()),
        ) {
            let a = Hlc { wall_ms: a.0, counter: a.1, node: a.2 };
            let b = Hlc { wall_ms: b.0, counter: b.1, node: b.2 };
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
            prop_assert_eq!(a.to_string().parse::<Hlc>(), Ok(a));
        }
    }
}
