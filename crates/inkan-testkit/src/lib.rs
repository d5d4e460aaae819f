//! Test support shared by every crate's tests.
//!
//! The rule for outside tools (OpenSSL, SoftHSM2, pyHanko, pdfsig, qpdf, PostgreSQL, Chromium):
//! when one is missing, a test prints why it is skipped and returns; under `CI=true` the same
//! absence fails the test, because CI installs every tool and a silent skip would hide a gap.
#![doc = include_str!("../README.md")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// True when running in CI, where every outside tool must be present.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Finds `tool` on PATH (or at an absolute path). Missing: `None` after printing the reason, or a
/// panic under CI.
pub fn require_tool(tool: &str, why: &str) -> Option<PathBuf> {
    if let Some(path) = find_tool(tool) {
        return Some(path);
    }
    skip_or_fail(&format!("{tool} is not installed ({why})"));
    None
}

/// A loopback URL where nothing listens (a port bound and released at once): a TSA, responder
/// or receiver that is down.
pub fn unanswered_url(path: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    format!("http://{address}{path}")
}

/// True when the Japanese font every drawing of a contract uses is installed (`INKAN_FONT`, or
/// Debian's `fonts-ipaexfont-gothic`); else the test is skipped, or fails under CI. A test
/// process reads `INKAN_FONT` here, as the `inkan` command does, and draws with that font.
pub fn japanese_font_installed() -> bool {
    if let Some(font) = std::env::var_os(inkan_domain::font::FONT_VARIABLE) {
        inkan_domain::font::choose(font.into());
    }
    if inkan_domain::font::japanese_font_path(Path::exists).is_some() {
        return true;
    }
    skip_or_fail("no Japanese font (apt install fonts-ipaexfont-gothic)");
    false
}

/// qpdf arguments that encrypt a PDF so that it opens without a password (the user password
/// empty, the owner password `owner`), one per encryption qpdf writes: RC4 of 40 and 128 bits,
/// AES-128 (with object streams), AES-256.
pub const QPDF_OPEN_ENCRYPTIONS: [(&str, &[&str]); 4] = [
    (
        "rc4-40",
        &["--allow-weak-crypto", "--encrypt", "", "owner", "40", "--"],
    ),
    (
        "rc4-128",
        &[
            "--allow-weak-crypto",
            "--encrypt",
            "",
            "owner",
            "128",
            "--use-aes=n",
            "--",
        ],
    ),
    (
        "aes-128",
        &[
            "--object-streams=generate",
            "--encrypt",
            "",
            "owner",
            "128",
            "--use-aes=y",
            "--",
        ],
    ),
    ("aes-256", &["--encrypt", "", "owner", "256", "--"]),
];

/// Skips (prints the reason) or, under CI, fails.
pub fn skip_or_fail(reason: &str) {
    if in_ci() {
        panic!("CI=true and a required tool is missing: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let candidate = Path::new(tool);
    if candidate.is_absolute() {
        return candidate.exists().then(|| candidate.to_path_buf());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Runs a command, returning its output; panics with stdout and stderr if it could not start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// [`run`] with `input` written to the command's standard input (a tool that asks for a
/// password, say).
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        // A tool that exits without reading its input is judged by its output, not by this.
        let _ = stdin.write_all(input);
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("cannot wait for {cmd:?}: {e}"))
}

/// Runs a command that must succeed; returns stdout+stderr as text.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// The SoftHSM2 module, if installed.
pub fn softhsm_module() -> Option<PathBuf> {
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/usr/lib64/softhsm/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// A SoftHSM2 token created for this test process.
pub struct SoftHsm {
    pub module: PathBuf,
    pub token_label: String,
    pub user_pin: String,
    pub so_pin: String,
    /// The softhsm2.conf that SOFTHSM2_CONF points at.
    pub config: PathBuf,
    _dir: tempfile::TempDir,
}

/// One SoftHSM2 token per test process (a PKCS#11 module reads its configuration once per
/// process, so every test shares it and uses its own key labels). `None` when SoftHSM2 is absent
/// (after printing why; a failure under CI).
pub fn softhsm() -> Option<&'static SoftHsm> {
    static TOKEN: OnceLock<Option<SoftHsm>> = OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let module = match softhsm_module() {
                Some(m) => m,
                None => {
                    skip_or_fail(
                        "SoftHSM2 (libsofthsm2.so) is not installed (apt install softhsm2)",
                    );
                    return None;
                }
            };
            require_tool("softhsm2-util", "creates the test token")?;
            let dir = tempfile::tempdir().unwrap();
            let tokens = dir.path().join("tokens");
            std::fs::create_dir_all(&tokens).unwrap();
            let config = dir.path().join("softhsm2.conf");
            std::fs::write(
                &config,
                format!(
                    "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                    tokens.display()
                ),
            )
            .unwrap();
            // Set before the module is first loaded in this process, so it reads our config.
            std::env::set_var("SOFTHSM2_CONF", &config);
            let token_label = "inkan-test".to_string();
            let (user_pin, so_pin) = ("123456".to_string(), "654321".to_string());
            run_ok(
                Command::new("softhsm2-util")
                    .env("SOFTHSM2_CONF", &config)
                    .args(["--init-token", "--free", "--label", &token_label])
                    .args(["--pin", &user_pin, "--so-pin", &so_pin]),
            );
            Some(SoftHsm {
                module,
                token_label,
                user_pin,
                so_pin,
                config,
                _dir: dir,
            })
        })
        .as_ref()
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The pyHanko virtual environment that `.ci/run` creates (`INKAN_PYHANKO_VENV`, by default
/// `~/.cache/inkan/pyhanko-venv`).
pub fn pyhanko_venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("INKAN_PYHANKO_VENV") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/inkan/pyhanko-venv")
}

/// The `pyhanko` command of that environment. Missing: skip, or fail under CI.
pub fn pyhanko() -> Option<PathBuf> {
    let path = pyhanko_venv().join("bin/pyhanko");
    if path.exists() {
        return Some(path);
    }
    skip_or_fail(&format!(
        "pyHanko is not installed at {} (bash .ci/run installs it)",
        path.display()
    ));
    None
}

/// The Python of the pyHanko environment (for `shared/tools/pyhanko_ltv_check.py`).
pub fn pyhanko_python() -> Option<PathBuf> {
    pyhanko().map(|_| pyhanko_venv().join("bin/python"))
}

/// A file of the `shared/` folder beside the project (e.g. `tools/pyhanko_ltv_check.py`).
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = workspace.join("../shared").join(relative);
    if path.exists() {
        return Some(path);
    }
    skip_or_fail(&format!(
        "{} is missing (shared/ must sit beside the project)",
        path.display()
    ));
    None
}

/// An NSS database trusting `root_pem` as a CA, for `pdfsig -nssdir sql:DIR`.
pub fn nss_db_trusting(root_pem: &Path) -> Option<tempfile::TempDir> {
    require_tool(
        "certutil",
        "pdfsig needs an NSS database (apt install libnss3-tools)",
    )?;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sql:{}", dir.path().display());
    run_ok(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]));
    run_ok(
        Command::new("certutil")
            .args(["-A", "-d", &db, "-n", "inkan-root", "-t", "CT,C,C", "-i"])
            .arg(root_pem),
    );
    Some(dir)
}
pub mod accessibility;
pub mod browser;
pub mod oidc;
pub mod postgres;
pub mod validators;
