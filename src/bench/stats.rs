//! Latency statistics of a load test: per route the request count, requests per second and
//! nearest-rank percentiles, and the count of answers per status.

use std::collections::BTreeMap;
use std::time::Duration;

/// What one route's requests measured.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    /// Latencies in microseconds.
    pub micros: Vec<u64>,
    /// Answers that were not 2xx, by status; 0 counts requests that got no answer.
    pub failures: BTreeMap<u16, u64>,
}

impl Samples {
    pub fn record(&mut self, latency: Duration, status: Option<u16>) {
        self.micros
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        match status {
            Some(s) if (200..300).contains(&s) => {}
            Some(s) => *self.failures.entry(s).or_default() += 1,
            None => *self.failures.entry(0).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        for (status, n) in other.failures {
            *self.failures.entry(status).or_default() += n;
        }
    }
}

/// The nearest-rank percentile `p` (0–100) of sorted values: the smallest value with at least
/// p% of the values at or below it. `None` for no values.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    // In thousandths of a percent and integers, so that 99.9% of 1000 is rank 999, not the
    // 1000 a float product (999.000…1) would round up to.
    let milli = (p.clamp(0.0, 100.0) * 1000.0).round() as u128;
    let rank = (milli * n as u128).div_ceil(100_000);
    let rank = usize::try_from(rank).unwrap_or(n).clamp(1, n);
    sorted.get(rank - 1).copied()
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub route: String,
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub non_2xx: u64,
}

pub fn summarize(route: &str, samples: &Samples, elapsed: Duration) -> Row {
    let mut sorted = samples.micros.clone();
    sorted.sort_unstable();
    let ms = |v: Option<u64>| v.map(|us| us as f64 / 1000.0).unwrap_or(0.0);
    let secs = elapsed.as_secs_f64();
    Row {
        route: route.to_string(),
        requests: sorted.len() as u64,
        rps: if secs > 0.0 {
            sorted.len() as f64 / secs
        } else {
            0.0
        },
        p50_ms: ms(percentile(&sorted, 50.0)),
        p99_ms: ms(percentile(&sorted, 99.0)),
        max_ms: ms(sorted.last().copied()),
        non_2xx: samples.failures.values().sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 51.0), Some(3));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn rows_from_samples() {
        let mut s = Samples::default();
        for ms in 1..=200u64 {
            s.record(Duration::from_millis(ms), Some(200));
        }
        s.record(Duration::from_millis(5), Some(503));
        s.record(Duration::from_millis(5), None);
        let mut other = Samples::default();
        other.record(Duration::from_millis(1), Some(404));
        s.merge(other);
        let r = summarize("/x", &s, Duration::from_secs(2));
        assert_eq!(r.requests, 203);
        assert!((r.rps - 101.5).abs() < 1e-9);
        // 203 values: rank ceil(101.5) = 102 → the 102nd smallest.
        assert_eq!(r.p50_ms, 99.0);
        assert_eq!(r.p99_ms, 198.0);
        assert_eq!(r.max_ms, 200.0);
        assert_eq!(r.non_2xx, 3);
        assert_eq!(s.failures.get(&503), Some(&1));
        assert_eq!(s.failures.get(&0), Some(&1));
    }
}
