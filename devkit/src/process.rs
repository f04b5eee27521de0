//! Child processes in a process group of their own, killed with every descendant on drop.

use std::{
    collections::BTreeMap,
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
};

use anyhow::{Context, Result};

/// A child process started in a process group of its own and killed on drop together with
/// its group and every descendant (the Lambda emulator puts the function in a group of its
/// own, the benchmark's Node reference is a grandchild), so nothing is left behind.
///
/// Being in its own group, the child does not get the terminal's Ctrl-C: only the drop stops
/// it.
pub struct Process(Child);

impl Process {
    /// Spawns `command` (stdin from /dev/null) in a new process group.
    pub fn spawn(command: &mut Command) -> Result<Self> {
        command.process_group(0).stdin(Stdio::null());
        let child = command
            .spawn()
            .with_context(|| format!("could not start {command:?}"))?;
        Ok(Self(child))
    }

    /// The child's process id (also its process group id).
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// The child itself, e.g. to take a piped stdout.
    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Collect the tree first: once a parent dies its children are re-parented to init.
        let tree = descendants(self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .args(tree.iter().map(u32::to_string))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Parent of every process, from /proc.
fn process_parents() -> BTreeMap<u32, u32> {
    let mut parents = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some((_, after)) = stat.rsplit_once(')')
            && let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok())
        {
            parents.insert(pid, ppid);
        }
    }
    parents
}

/// All descendants of `root` (not `root` itself), from /proc.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents = process_parents();
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for (child, _) in parents.iter().filter(|(_, p)| **p == pid) {
            found.push(*child);
            stack.push(*child);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn alive(pid: u32) -> bool {
        // A killed child stays a zombie until reaped; count that as gone.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, s)| s.trim_start().starts_with('Z'))
        })
    }

    #[test]
    fn drop_kills_the_whole_tree() {
        // A shell whose grandchild leaves the group (setsid would too): `sleep` in the
        // background, then the shell waits.
        let mut process =
            Process::spawn(Command::new("sh").args(["-c", "sleep 30 & sleep 30 & wait"])).unwrap();
        let started = Instant::now();
        let tree = loop {
            let tree = descendants(process.id());
            if tree.len() == 2 || started.elapsed() > Duration::from_secs(5) {
                break tree;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(tree.len(), 2, "the shell did not start its two sleeps");
        assert!(process.child().try_wait().unwrap().is_none());
        let root = process.id();
        drop(process);
        for pid in tree.iter().chain([&root]) {
            let started = Instant::now();
            while alive(*pid) && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(!alive(*pid), "{pid} survived the drop");
        }
    }
}
