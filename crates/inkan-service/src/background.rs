//! The runtime job work runs on: its own threads, at a lower CPU priority than the web's.
//!
//! Sealing is CPU work (PDF passes, hashing, signatures) in long stretches between awaits. On
//! the web's runtime a seal's stretch held a worker thread that a sign request was queued
//! behind, and on 2 cores two seals held both. Here the jobs have threads of their own, which
//! the kernel runs at nice 10: when a page or a sign request needs a core it gets one at once,
//! and when the web is idle the jobs have every core. One runtime per process, never dropped
//! (a runtime may not be dropped inside another's task, which tests and `inkan serve` would).

use std::sync::OnceLock;

/// How much less CPU the jobs' threads get when the web's want it (Linux: per thread; nice 10
/// weighs about a tenth of nice 0).
const JOB_NICENESS: i32 = 10;

/// The handle to spawn job work on.
pub(crate) fn handle() -> tokio::runtime::Handle {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("inkan-jobs")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()
            .inspect_err(|e| {
                tracing::warn!(error = %e, "no runtime of their own for jobs: they share the web's")
            })
            .ok()
    });
    match runtime {
        Some(runtime) => runtime.handle().clone(),
        None => tokio::runtime::Handle::current(),
    }
}

/// Lowers the calling thread's priority (on Linux the nice value belongs to the thread, and
/// `who = 0` names the caller). A refusal only costs the web some latency under load.
fn lower_priority() {
    let current = rustix::process::getpriority_process(None).unwrap_or(0);
    if current < JOB_NICENESS {
        if let Err(e) = rustix::process::setpriority_process(None, JOB_NICENESS) {
            tracing::debug!(error = %e, "the job threads keep the web's priority");
        }
    }
}
