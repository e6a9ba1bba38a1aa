//! The bridge as a child process: spawned from the release binary with the bench's overrides,
//! killed with SIGKILL, and watched through `/proc/<pid>` (CPU time, resident memory).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux we run on).
const TICKS_PER_SEC: f64 = 100.0;

/// How to start the bridge: the binary, its config file, and environment overrides.
#[derive(Clone)]
pub struct Launcher {
    pub binary: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    pub env: Vec<(String, String)>,
    pub log: Option<PathBuf>,
}

/// A running bridge process; killed (SIGKILL) when dropped.
pub struct Bridge {
    child: Child,
    /// The bridge's own pid: the child's, or with a wrapper its descendant running the binary.
    pid: u32,
}

/// The children of `pid` (from `/proc/<pid>/task/*/children`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// `pid` and every process below it.
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        all.extend(children(all[i]));
        i += 1;
    }
    all
}

/// The process below `pid` (or `pid` itself) whose executable is `binary`.
fn find_binary(pid: u32, binary: &std::path::Path) -> Option<u32> {
    let want = std::fs::canonicalize(binary).ok()?;
    descendants(pid)
        .into_iter()
        .find(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|exe| exe == want))
}

impl Launcher {
    /// Starts the binary on `database` and waits until its appservice port answers.
    pub fn spawn(&self, database: &str) -> (Bridge, Duration) {
        let started = Instant::now();
        // `MI_BENCH_WRAPPER` (e.g. `heaptrack -o /dev/shm/bridge`) runs the binary under a tool.
        let wrapper: Vec<String> = std::env::var("MI_BENCH_WRAPPER")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut cmd = match wrapper.split_first() {
            Some((tool, args)) => {
                let mut c = Command::new(tool);
                c.args(args).arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        };
        cmd.arg("-c")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("MATRIX_INSTAGRAM__DATABASE__URI", database)
            .stdin(Stdio::null());
        match self.log.as_ref().and_then(|p| {
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        }) {
            Some(f) => {
                let err = f.try_clone().expect("log file");
                cmd.stdout(f).stderr(err);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = cmd.spawn().expect("spawn the bridge binary");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the bridge binary did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let listening = started.elapsed();
        let pid = find_binary(child.id(), &self.binary).unwrap_or(child.id());
        (Bridge { child, pid }, listening)
    }
}

impl Bridge {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGKILL: no shutdown code runs at all (the bridge first, then any wrapper).
    pub fn kill(&mut self) {
        if self.pid != self.child.id() {
            let _ = Command::new("kill")
                .args(["-KILL", &self.pid.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// CPU time used so far (user + system, every thread, living or ended).
    pub fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at field 3.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime is field 14, stime 15: indexes 11 and 12 after the name.
        Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / TICKS_PER_SEC)
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }

    /// Waits until the process used at most `limit` of CPU over one second (`within` at
    /// most); when that quiet second began, counted from `origin`, or `None`.
    pub async fn until_quiet(
        &self,
        origin: Instant,
        limit: Duration,
        within: Duration,
    ) -> Option<Duration> {
        let started = Instant::now();
        let mut samples = std::collections::VecDeque::new();
        loop {
            let now = Instant::now();
            samples.push_back((now, self.cpu()));
            while samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_millis(1000))
            {
                samples.pop_front();
            }
            if let (Some((t0, c0)), Some((t1, c1))) = (samples.front(), samples.back())
                && t1.duration_since(*t0) >= Duration::from_millis(950)
                && c1.saturating_sub(*c0) <= limit
            {
                // Quiet since the start of the window.
                return Some(t0.saturating_duration_since(origin));
            }
            if started.elapsed() > within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
    }
}
