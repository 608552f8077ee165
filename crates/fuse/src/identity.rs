//! Who is calling: FUSE gives a request's uid, gid and pid; the
//! supplementary groups come from the calling thread's
//! `/proc/<pid>/status`, so group permissions hold as on a local disk.

use dittofs_meta::AuthContext;
use fuser::Request;

pub(crate) fn caller(req: &Request) -> AuthContext {
    AuthContext::new(req.uid(), req.gid(), groups(req.pid()))
}

/// The `Groups:` line of a process's status. A request the kernel makes on
/// its own (pid 0), or from a process already gone, has none.
fn groups(pid: u32) -> Vec<u32> {
    if pid == 0 {
        return Vec::new();
    }
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|status| parse_groups(&status))
        .unwrap_or_default()
}

fn parse_groups(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_from_the_status_line() {
        let status = "Name:\tsh\nUid:\t0\t0\t0\t0\nGroups:\t4 24 1000 \nNgid:\t0\n";
        assert_eq!(parse_groups(status), vec![4, 24, 1000]);
        assert_eq!(parse_groups("Groups:\t\n"), Vec::<u32>::new());
        assert_eq!(parse_groups("Name:\tsh\n"), Vec::<u32>::new());
    }

    #[test]
    fn this_process_has_a_groups_line() {
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        assert!(status.lines().any(|l| l.starts_with("Groups:")));
    }
}
