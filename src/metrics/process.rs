//! Process metrics with the standard names (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, …), read from `/proc/self` at each scrape. Elsewhere than
//! Linux, or when `/proc` cannot be read, they stay at their last value.

use std::sync::{Arc, Mutex};

use prometheus::proto::MetricFamily;
use prometheus::{Counter, Gauge, IntGauge, Registry};

/// `/proc` reports times in USER_HZ ticks, fixed at 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// What one read of `/proc/self` gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub cpu_seconds: Option<f64>,
    pub threads: Option<i64>,
    pub start_time_seconds: Option<f64>,
    pub virtual_bytes: Option<i64>,
    pub resident_bytes: Option<i64>,
    pub open_fds: Option<i64>,
    pub max_fds: Option<i64>,
}

#[derive(Clone)]
pub struct ProcessMetrics {
    registry: Registry,
    cpu: Counter,
    /// The CPU time already counted (the counter only goes up by differences).
    cpu_seen: Arc<Mutex<f64>>,
    threads: IntGauge,
    start_time: Gauge,
    virtual_memory: IntGauge,
    resident_memory: IntGauge,
    open_fds: IntGauge,
    max_fds: IntGauge,
}

fn int_gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).unwrap_or_else(|_| unreachable!("valid metric {name}"))
}

impl ProcessMetrics {
    pub fn new() -> Self {
        let m = Self {
            registry: Registry::new(),
            cpu: Counter::new(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds",
            )
            .unwrap_or_else(|_| unreachable!("valid metric")),
            cpu_seen: Arc::default(),
            threads: int_gauge("process_threads", "Number of OS threads in the process"),
            start_time: Gauge::new(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
            )
            .unwrap_or_else(|_| unreachable!("valid metric")),
            virtual_memory: int_gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
            ),
            resident_memory: int_gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
            ),
            open_fds: int_gauge("process_open_fds", "Number of open file descriptors"),
            max_fds: int_gauge("process_max_fds", "Maximum number of open file descriptors"),
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.cpu.clone()),
            Box::new(m.threads.clone()),
            Box::new(m.start_time.clone()),
            Box::new(m.virtual_memory.clone()),
            Box::new(m.resident_memory.clone()),
            Box::new(m.open_fds.clone()),
            Box::new(m.max_fds.clone()),
        ];
        for c in collectors {
            let _ = m.registry.register(c);
        }
        m
    }

    /// Reads `/proc/self` and updates the metrics.
    pub fn refresh(&self) {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let sample = sample(
            read("/proc/self/stat").as_deref(),
            read("/proc/self/status").as_deref(),
            read("/proc/self/limits").as_deref(),
            read("/proc/stat").as_deref(),
            std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as i64),
        );
        self.apply(&sample);
    }

    fn apply(&self, s: &Sample) {
        if let Some(cpu) = s.cpu_seconds {
            let mut seen = self.cpu_seen.lock().unwrap_or_else(|p| p.into_inner());
            if cpu > *seen {
                self.cpu.inc_by(cpu - *seen);
                *seen = cpu;
            }
        }
        let set = |g: &IntGauge, v: Option<i64>| {
            if let Some(v) = v {
                g.set(v);
            }
        };
        set(&self.threads, s.threads);
        set(&self.virtual_memory, s.virtual_bytes);
        set(&self.resident_memory, s.resident_bytes);
        set(&self.open_fds, s.open_fds);
        set(&self.max_fds, s.max_fds);
        if let Some(t) = s.start_time_seconds {
            self.start_time.set(t);
        }
    }

    pub fn gather(&self) -> Vec<MetricFamily> {
        self.registry.gather()
    }
}

impl Default for ProcessMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses the `/proc` files (each may be missing or malformed: that value is then unknown).
/// `fds` is the number of entries of `/proc/self/fd`, which includes the one used to list it.
pub fn sample(
    stat: Option<&str>,
    status: Option<&str>,
    limits: Option<&str>,
    system_stat: Option<&str>,
    fds: Option<i64>,
) -> Sample {
    // The fields after the command name, which is in parentheses and may hold anything.
    let fields: Vec<&str> = stat
        .and_then(|s| s.rsplit_once(')'))
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // `fields[0]` is field 3 of proc(5) (state).
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    let cpu_seconds = field(14)
        .zip(field(15))
        .map(|(user, system)| (user + system) / TICKS_PER_SECOND);
    let boot_time = system_stat.and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    });
    let start_time_seconds = field(22)
        .zip(boot_time)
        .map(|(ticks, boot)| boot + ticks / TICKS_PER_SECOND);
    let status_kb = |key: &str| {
        status.and_then(|s| {
            s.lines().find_map(|l| {
                let rest = l.strip_prefix(key)?.trim();
                let kb = rest.strip_suffix("kB").unwrap_or(rest).trim();
                kb.parse::<i64>().ok().map(|v| v.saturating_mul(1024))
            })
        })
    };
    let max_fds = limits.and_then(|s| {
        s.lines().find_map(|l| {
            let rest = l.strip_prefix("Max open files")?;
            rest.split_whitespace().next()?.parse::<i64>().ok()
        })
    });
    Sample {
        cpu_seconds,
        threads: field(20).map(|v| v as i64),
        start_time_seconds,
        virtual_bytes: field(23).map(|v| v as i64),
        resident_bytes: status_kb("VmRSS:"),
        open_fds: fds.map(|n| (n - 1).max(0)),
        max_fds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (matrix (inst) agram) S 1 4242 4242 0 -1 4194560 1200 0 0 0 \
                        250 50 0 0 20 0 7 0 123456 987654321 4321 18446744073709551615";
    const STATUS: &str = "Name:\tmatrix-instagram\nVmSize:\t  964504 kB\nVmRSS:\t   17280 kB\n";
    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units\n\
                          Max open files            1024                 524288               files\n";
    const SYSTEM: &str = "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n";

    #[test]
    fn proc_files_are_parsed() {
        let s = sample(
            Some(STAT),
            Some(STATUS),
            Some(LIMITS),
            Some(SYSTEM),
            Some(13),
        );
        assert_eq!(s.cpu_seconds, Some(3.0));
        assert_eq!(s.threads, Some(7));
        assert_eq!(s.start_time_seconds, Some(1_700_000_000.0 + 1234.56));
        assert_eq!(s.virtual_bytes, Some(987_654_321));
        assert_eq!(s.resident_bytes, Some(17_280 * 1024));
        assert_eq!(s.open_fds, Some(12));
        assert_eq!(s.max_fds, Some(1024));
    }

    #[test]
    fn missing_or_broken_files_give_unknown_values() {
        assert_eq!(sample(None, None, None, None, None), Sample::default());
        let s = sample(
            Some("garbage"),
            Some("VmRSS: lots"),
            Some("x"),
            Some("y"),
            None,
        );
        assert_eq!(s, Sample::default());
        let m = ProcessMetrics::new();
        m.apply(&Sample {
            cpu_seconds: Some(2.0),
            ..Sample::default()
        });
        // The CPU counter follows the process's total, never going back.
        m.apply(&Sample {
            cpu_seconds: Some(1.0),
            ..Sample::default()
        });
        m.apply(&Sample {
            cpu_seconds: Some(2.5),
            ..Sample::default()
        });
        assert_eq!(m.cpu.get(), 2.5);
    }
}
