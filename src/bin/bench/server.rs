//! The server process seen from outside, through /proc: its resident memory and the CPU
//! time it has used. Without `--server-pid` these figures are left out.

use std::time::Duration;

/// Linux reports process CPU times in clock ticks of 1/100 s (`USER_HZ`, fixed at 100 on
/// every architecture the kernel's ABI exposes to /proc).
const TICKS_PER_SECOND: u64 = 100;

#[derive(Clone, Copy)]
pub struct Server {
    pub pid: Option<u32>,
}

impl Server {
    /// Resident set size in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// User plus system CPU time used so far.
    pub fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid?)).ok()?;
        // Fields after the command name (which may hold spaces, hence the last ')'):
        // state is field 3, utime field 14, stime field 15.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
    }

    /// A CPU reading to compare with a later one.
    pub fn cpu_meter(&self) -> CpuMeter {
        CpuMeter {
            server: *self,
            start: self.cpu(),
        }
    }
}

pub struct CpuMeter {
    server: Server,
    start: Option<Duration>,
}

impl CpuMeter {
    /// CPU time the server used since the meter started.
    pub fn used(&self) -> Option<Duration> {
        Some(self.server.cpu()?.saturating_sub(self.start?))
    }
}

/// "123 MiB", or "n/a" without a reading.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_string(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}
