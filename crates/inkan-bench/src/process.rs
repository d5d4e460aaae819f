//! Running the other tools as processes: wall time, peak memory, and finding them.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::*;

/// The peak resident memory (`VmHWM`) of a process, in KB, from `/proc/PID/status`.
pub(crate) fn vm_hwm_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Processes, timed, with their peak memory

pub(crate) struct Measured {
    pub(crate) elapsed: Duration,
    /// Max RSS in KB, when it could be measured.
    pub(crate) peak_kb: Option<u64>,
}

/// Runs `program args` to completion, timing it (wall clock, process start included) and taking
/// its peak memory. Its output goes to `log`; a failure is an error that shows it.
pub(crate) fn run_measured(program: &Path, args: &[OsString], log: &Path) -> Result<Measured> {
    let gnu_time = Path::new("/usr/bin/time");
    let rss_file = log.with_extension("rss");
    let mut cmd = if gnu_time.exists() {
        let mut cmd = Command::new(gnu_time);
        cmd.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(File::create(log)?)
        .stderr(File::create(log.with_extension("err"))?);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let mut polled = None;
    let status = if gnu_time.exists() {
        child.wait()?
    } else {
        let pid = child.id().to_string();
        loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            polled = vm_hwm_kb(&pid).or(polled);
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let elapsed = started.elapsed();
    if !status.success() {
        let out = std::fs::read_to_string(log).unwrap_or_default();
        let err = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
        bail!(
            "{} {:?} failed ({status}):\n{out}{err}",
            program.display(),
            args
        );
    }
    let peak_kb = if gnu_time.exists() {
        let text = std::fs::read_to_string(&rss_file)?;
        text.lines().rev().find_map(|l| l.trim().parse().ok())
    } else {
        polled
    };
    Ok(Measured { elapsed, peak_kb })
}

pub(crate) fn run_quiet(program: &Path, args: &[&OsString]) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// The `inkan` binary, if it is there and has a `verify` subcommand.
pub(crate) fn inkan_with_verify(cli: &Cli) -> Result<Option<PathBuf>> {
    let path = match &cli.inkan {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("inkan"),
    };
    let has_verify = path.exists()
        && Command::new(&path)
            .args(["verify", "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !has_verify {
        eprintln!(
            "note: {} has no `verify` subcommand (or is not built: cargo build -p inkan); \
             verification is left out",
            path.display()
        );
    }
    Ok(has_verify.then_some(path))
}

pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A tool the benchmark compares against; missing, its columns say "n/a" (an error under CI).
pub(crate) fn optional_tool(path: PathBuf, what: &str) -> Result<Option<PathBuf>> {
    if path.exists() {
        return Ok(Some(path));
    }
    if in_ci() {
        bail!("CI=true and {what} is missing ({})", path.display());
    }
    eprintln!(
        "note: {what} is missing ({}); its columns say n/a",
        path.display()
    );
    Ok(None)
}

pub(crate) fn on_path(tool: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(tool))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(format!("/usr/bin/{tool}")))
}
