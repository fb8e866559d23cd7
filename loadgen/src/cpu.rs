//! Where the machine's CPU went during a point, from /proc: per process
//! group (our services, nginx, the shared servers, this load generator) and
//! the rest of the machine ("other": another build, another test run).
//! Also the resident memory of the services (idle RSS).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// pid → (group, ticks)
    procs: BTreeMap<u32, (String, u64)>,
    busy: u64,
    total: u64,
}

/// The processes scripts/up started: `NAME.pid` files (`user-service-1`, …)
/// and the nginx master's pid file.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub pid_files: Vec<PathBuf>,
    pub nginx_pid_file: Option<PathBuf>,
}

impl Watch {
    pub fn new(pids_dir: Option<&Path>, nginx_pid_file: Option<&Path>) -> Watch {
        let mut pid_files = Vec::new();
        if let Some(dir) = pids_dir
            && let Ok(rd) = fs::read_dir(dir)
        {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "pid") {
                    pid_files.push(p);
                }
            }
        }
        pid_files.sort();
        Watch {
            pid_files,
            nginx_pid_file: nginx_pid_file.map(Path::to_path_buf),
        }
    }

    /// name (file stem) → pid of each started service process.
    pub fn services(&self) -> Vec<(String, u32)> {
        self.pid_files
            .iter()
            .filter_map(|p| {
                let name = p.file_stem()?.to_string_lossy().into_owned();
                let pid = fs::read_to_string(p).ok()?.trim().parse().ok()?;
                Some((name, pid))
            })
            .collect()
    }

    fn nginx_master(&self) -> Option<u32> {
        fs::read_to_string(self.nginx_pid_file.as_ref()?)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut ours: BTreeMap<u32, String> = self
            .services()
            .into_iter()
            .map(|(name, pid)| (pid, group_of(&name)))
            .collect();
        let master = self.nginx_master();
        if let Some(m) = master {
            ours.insert(m, "nginx".into());
        }
        ours.insert(std::process::id(), "loadgen".into());
        let mut procs = BTreeMap::new();
        if let Ok(rd) = fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let Some((comm, ppid, ticks)) = proc_stat(pid) else {
                    continue;
                };
                let group = if let Some(g) = ours.get(&pid) {
                    g.clone()
                } else if master.is_some_and(|m| m == ppid) {
                    "nginx".into()
                } else {
                    match comm.as_str() {
                        "redis-server" => "redis".into(),
                        "postgres" => "postgresql".into(),
                        "beam.smp" => "rabbitmq".into(),
                        // Anything else by name (another build, a test run).
                        other => format!("other:{other}"),
                    }
                };
                procs.insert(pid, (group, ticks));
            }
        }
        let (busy, total) = machine_ticks().unwrap_or((0, 0));
        Snapshot { procs, busy, total }
    }
}

/// `user-service-2` → `user-service`; `worker-consumer-1` → `worker-consumer`.
fn group_of(name: &str) -> String {
    match name.rsplit_once('-') {
        Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) => head.to_owned(),
        _ => name.to_owned(),
    }
}

/// (comm, ppid, utime + stime) of a process.
fn proc_stat(pid: u32) -> Option<(String, u32, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_owned();
    let rest: Vec<&str> = s[close + 2..].split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, ppid, utime + stime))
}

/// (busy, total) jiffies of all CPUs together.
fn machine_ticks() -> Option<(u64, u64)> {
    let s = fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Cores used by each group between two snapshots over `seconds`;
/// `machine` is the whole machine's busy cores, `other:NAME` processes
/// outside the stack by command name, and `other` what none accounts for
/// (processes that started or ended during the window, the kernel).
pub fn cores_used(a: &Snapshot, b: &Snapshot, seconds: f64) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    if seconds <= 0.0 {
        return out;
    }
    let mut ours = 0.0;
    for (pid, (group, t1)) in &b.procs {
        if let Some((_, t0)) = a.procs.get(pid) {
            let c = t1.saturating_sub(*t0) as f64 / TICKS / seconds;
            *out.entry(group.clone()).or_default() += c;
            ours += c;
        }
    }
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    if b.total > a.total {
        let machine = (b.busy - a.busy) as f64 / (b.total - a.total) as f64 * ncpu;
        out.insert("machine".into(), machine);
        out.insert("other".into(), (machine - ours).max(0.0));
    }
    out.retain(|k, v| !(k.starts_with("other:") && *v < 0.01));
    for v in out.values_mut() {
        *v = (*v * 100.0).round() / 100.0;
    }
    out
}

/// VmRSS and VmHWM (peak) in KiB, as `ps -o rss` reports RSS.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_drop_the_replica_number() {
        assert_eq!(group_of("user-service-2"), "user-service");
        assert_eq!(group_of("worker-consumer-1"), "worker-consumer");
        assert_eq!(group_of("worker-api"), "worker-api");
    }

    #[test]
    fn reads_our_own_process() {
        let (comm, _, _) = proc_stat(std::process::id()).unwrap();
        assert!(!comm.is_empty());
        let (rss, hwm) = rss_kib(std::process::id()).unwrap();
        assert!(rss > 0 && hwm >= rss);
        assert!(machine_ticks().unwrap().1 > 0);
    }
}
