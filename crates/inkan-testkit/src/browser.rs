//! Headless Chromium for UI tests, driven through chromedriver (WebDriver) with `fantoccini`.
//!
//! ```no_run
//! # async fn demo() {
//! use inkan_testkit::browser::Browser;
//! // None: Chromium or chromedriver is missing (the reason is printed; under CI=true, a panic).
//! let Some(b) = Browser::start("signing-page").await else { return };
//! b.goto("http://127.0.0.1:8080/").await;
//! b.fill("#name", "山田太郎").await;
//! b.click("button[type=submit]").await;
//! b.wait_for_text("#status", "署名済み").await;
//! b.screenshot("signed").await; // target/ui-screenshots/signing-page/01-signed.png
//! b.close().await;
//! # }
//! ```
//!
//! Every wait is bounded: an element is looked for up to 5 s, a text up to 10 s, chromedriver
//! gets 20 s to listen, and any single WebDriver command 60 s. A failed wait panics with the
//! selector, the current URL and an excerpt of the page. chromedriver runs in a process group of
//! its own, which is killed when the `Browser` is dropped (also when a test panics), so no
//! Chromium outlives its test.
//!
//! Tools: Debian's `chromium` and `chromium-driver` (and `fonts-ipaexfont-gothic` so that
//! Japanese text is not drawn as boxes in screenshots).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long `text`, `click`, `fill` and `upload` look for their element.
const FIND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `wait_for_text` waits for its text.
const TEXT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long chromedriver gets to listen on its port.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long Chromium gets to start a session.
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// The bound on any single WebDriver command (page loads included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `accept_alert` waits for a dialog to open.
const ALERT_TIMEOUT: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(100);

const DESKTOP_WINDOW: (u32, u32) = (1280, 900);
const MOBILE_WINDOW: (u32, u32) = (390, 844);
/// Chrome on an Android phone.
const MOBILE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/// A headless Chromium session and the chromedriver serving it.
pub struct Browser {
    client: Client,
    driver: Driver,
    dir: PathBuf,
    steps: AtomicU32,
}

/// The chromedriver process (leader of its own process group, so killing the group also ends the
/// Chromium it started) and its temporary folder (Chromium profile, chromedriver's log).
struct Driver {
    child: tokio::process::Child,
    pgid: Option<u32>,
    log: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Driver {
    /// The last part of chromedriver's output, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail = tail_chars(&text, 4000);
        format!("chromedriver output ({}):\n{tail}", self.log.display())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            // The group is ours: chromedriver was started with process_group(0).
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
        // Let the processes go before the profile folder is removed.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Browser {
    /// Starts chromedriver on a free 127.0.0.1 port and a headless Chromium session (viewport
    /// 1280x900, `--no-sandbox` (tests run as root), `--disable-gpu`, `--disable-dev-shm-usage`,
    /// language ja-JP, a fresh temporary `--user-data-dir`). `name` names the screenshot folder,
    /// `target/ui-screenshots/<name>/`, which is emptied now: give each test its own name.
    ///
    /// `None` when Chromium or chromedriver is not installed (after printing why; under `CI=true`
    /// a panic). Panics when they are installed but no session can be started.
    pub async fn start(name: &str) -> Option<Browser> {
        Self::launch(name, None).await
    }

    /// Like [`Browser::start`], as a phone: a 390x844 viewport through Chrome's mobile emulation
    /// (device pixel ratio 2, touch, `<meta name=viewport>` honoured) and an Android Chrome user
    /// agent.
    pub async fn start_mobile(name: &str) -> Option<Browser> {
        Self::launch(name, Some(MOBILE_WINDOW)).await
    }

    /// Like [`Browser::start_mobile`] on a screen of `width`×`height` CSS pixels (the 320 px of
    /// WCAG's reflow criterion, a small tablet, …).
    pub async fn start_mobile_sized(name: &str, width: u32, height: u32) -> Option<Browser> {
        Self::launch(name, Some((width, height))).await
    }

    /// `phone`: the screen of an emulated phone; `None` is a desktop window.
    async fn launch(name: &str, phone: Option<(u32, u32)>) -> Option<Browser> {
        let chromium = crate::require_tool(
            "chromium",
            "UI tests drive headless Chromium; apt install chromium",
        )?;
        let chromedriver = crate::require_tool(
            "chromedriver",
            "UI tests drive Chromium through WebDriver; apt install chromium-driver",
        )?;
        warn_without_japanese_font();
        let binary = browser_binary(&chromium);

        let dir = screenshot_root().join(sanitize(name));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot empty {}: {e}", dir.display()));
        }
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));

        // A port picked free can be taken by another process before chromedriver binds it:
        // then what answers is not our chromedriver. Start again on another port.
        let mut attempt = 0;
        let (client, driver) = loop {
            attempt += 1;
            match start_session(&chromedriver, &binary, phone).await {
                Ok(started) => break started,
                Err(why) if attempt < 3 => {
                    eprintln!("chromedriver attempt {attempt} failed, starting again: {why}");
                }
                Err(why) => panic!("{why}"),
            }
        };
        let browser = Browser {
            client,
            driver,
            dir,
            steps: AtomicU32::new(0),
        };
        if phone.is_none() {
            browser.fit_viewport(DESKTOP_WINDOW).await;
        }
        Some(browser)
    }

    /// Headless Chromium still reserves room for browser chrome (--window-size=1280,900 gives a
    /// 1280x757 viewport): grow the window so that the page itself gets `width`x`height`.
    async fn fit_viewport(&self, (width, height): (u32, u32)) {
        let margins = bounded(
            "execute",
            self.client.execute(
                "return [window.outerWidth - window.innerWidth, \
                         window.outerHeight - window.innerHeight]",
                vec![],
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("cannot measure the window: {e}"));
        let margin = |i: usize| {
            margins[i]
                .as_u64()
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(0)
        };
        let (extra_w, extra_h) = (margin(0), margin(1));
        if extra_w == 0 && extra_h == 0 {
            return;
        }
        bounded(
            "set_window_size",
            self.client
                .set_window_size(width + extra_w, height + extra_h),
        )
        .await
        .unwrap_or_else(|e| panic!("cannot resize the window: {e}"));
    }

    /// The WebDriver client, for what this harness does not wrap (`execute`, `title`, `find`…).
    pub fn client(&self) -> &fantoccini::Client {
        &self.client
    }

    /// Adds a virtual authenticator to the browser (WebDriver's WebAuthn extension): a CTAP2
    /// platform authenticator that keeps discoverable credentials and verifies its user without
    /// asking, for the passkey tests. Its ID.
    pub async fn add_virtual_authenticator(&self) -> String {
        let answer = self
            .client
            .issue_cmd(VirtualAuthenticator::Add)
            .await
            .unwrap_or_else(|e| panic!("adding a virtual authenticator: {e}"));
        answer.as_str().unwrap_or_default().to_string()
    }

    /// Removes a virtual authenticator (its credentials go with it).
    pub async fn remove_virtual_authenticator(&self, id: &str) {
        self.client
            .issue_cmd(VirtualAuthenticator::Remove(id.to_string()))
            .await
            .unwrap_or_else(|e| panic!("removing the virtual authenticator {id}: {e}"));
    }

    /// The folder the screenshots go to (`target/ui-screenshots/<name>/`).
    pub fn screenshot_dir(&self) -> &Path {
        &self.dir
    }

    /// Opens `url` and waits for the page to load (at most 60 s).
    pub async fn goto(&self, url: &str) {
        if let Err(e) = bounded("goto", self.client.goto(url)).await {
            panic!(
                "cannot open {url}: {e}\n{}",
                self.driver_context_if_lost(&e)
            );
        }
    }

    /// Saves a PNG screenshot of the viewport as `<dir>/<NN>-<step>.png` (NN = 01, 02, … in call
    /// order) and returns its path.
    pub async fn screenshot(&self, step: &str) -> PathBuf {
        let n = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        let png = bounded("screenshot", self.client.screenshot())
            .await
            .unwrap_or_else(|e| panic!("cannot take screenshot {n:02}-{step}: {e}"));
        std::fs::create_dir_all(&self.dir).unwrap();
        let path = self.dir.join(format!("{n:02}-{}.png", sanitize(step)));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// The visible text of the first element matching `css`. Panics (with the selector, the URL
    /// and an excerpt of the page) when no element matches within 5 s.
    pub async fn text(&self, css: &str) -> String {
        let element = self.element(css, false, FIND_TIMEOUT).await;
        match bounded("text", element.text()).await {
            Ok(text) => text,
            Err(e) => {
                self.fail(&format!("cannot read the text of `{css}`: {e}"))
                    .await
            }
        }
    }

    /// Waits up to 5 s for the first element matching `css` to be displayed, then clicks it
    /// (retrying while another element covers it).
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + FIND_TIMEOUT;
        loop {
            let element = self.element(css, true, remaining(deadline)).await;
            match bounded("click", element.click()).await {
                Ok(()) => return,
                Err(e) if retryable(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => self.fail(&format!("cannot click `{css}`: {e}")).await,
            }
        }
    }

    /// Clears the input or textarea matching `css` (waiting up to 5 s for it to be displayed)
    /// and types `value` into it.
    pub async fn fill(&self, css: &str, value: &str) {
        let element = self.element(css, true, FIND_TIMEOUT).await;
        if let Err(e) = bounded("clear", element.clear()).await {
            self.fail(&format!("cannot clear `{css}`: {e}")).await
        }
        if let Err(e) = bounded("send_keys", element.send_keys(value)).await {
            self.fail(&format!("cannot type into `{css}`: {e}")).await
        }
    }

    /// Chooses `file` in the file input matching `css` (which may be hidden behind a styled
    /// label).
    pub async fn upload(&self, css: &str, file: &Path) {
        let absolute = std::fs::canonicalize(file)
            .unwrap_or_else(|e| panic!("cannot upload {}: {e}", file.display()));
        let element = self.element(css, false, FIND_TIMEOUT).await;
        let path = absolute.to_string_lossy();
        if let Err(e) = bounded("send_keys", element.send_keys(&path)).await {
            self.fail(&format!("cannot choose {path} in `{css}`: {e}"))
                .await
        }
    }

    /// Waits up to 10 s until the first element matching `css` has a text containing `needle`;
    /// panics with the text it saw last.
    pub async fn wait_for_text(&self, css: &str, needle: &str) {
        let deadline = Instant::now() + TEXT_TIMEOUT;
        loop {
            let seen = match bounded("find", self.client.find(Locator::Css(css))).await {
                Ok(element) => match bounded("text", element.text()).await {
                    Ok(text) if text.contains(needle) => return,
                    Ok(text) => format!("its text was {text:?}"),
                    Err(e) if retryable(&e) => format!("reading its text failed: {e}"),
                    Err(e) => self.fail(&format!("cannot read `{css}`: {e}")).await,
                },
                Err(e) if e.is_no_such_element() => "no element matched".into(),
                Err(e) if retryable(&e) => format!("finding it failed: {e}"),
                Err(e) => self.fail(&format!("cannot find `{css}`: {e}")).await,
            };
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "`{css}` did not contain {needle:?} within {TEXT_TIMEOUT:?}: {seen}"
                ))
                .await
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the whole page.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Accepts the open `window.confirm`/`alert` dialog, waiting up to 1 s for one to open.
    /// Returns whether there was one. Call it right after the click that opens the dialog: any
    /// other command dismisses an open dialog (and fails).
    pub async fn accept_alert(&self) -> bool {
        let deadline = Instant::now() + ALERT_TIMEOUT;
        loop {
            match bounded("accept_alert", self.client.accept_alert()).await {
                Ok(()) => return true,
                Err(e) if e.is_no_such_alert() => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("cannot accept the dialog: {e}"),
            }
        }
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(self) {
        let Browser { client, driver, .. } = self;
        // A failure here (Chromium already gone) changes nothing: the process group dies below.
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        drop(driver);
    }

    /// The first element matching `css` (displayed, if asked), waiting at most `timeout`.
    async fn element(&self, css: &str, displayed: bool, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = match bounded("find", self.client.find(Locator::Css(css))).await {
                Ok(element) if !displayed => return element,
                Ok(element) => match bounded("is_displayed", element.is_displayed()).await {
                    Ok(true) => return element,
                    Ok(false) => "an element matched but is not displayed".to_string(),
                    Err(e) if retryable(&e) => format!("checking it failed: {e}"),
                    Err(e) => self.fail(&format!("cannot check `{css}`: {e}")).await,
                },
                Err(e) if e.is_no_such_element() => "no element matched".into(),
                Err(e) if retryable(&e) => format!("finding it failed: {e}"),
                Err(e) => self.fail(&format!("cannot find `{css}`: {e}")).await,
            };
            if Instant::now() >= deadline {
                self.fail(&format!("`{css}` not found within {timeout:?}: {seen}"))
                    .await
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Panics with `message`, the current URL and excerpts of the page.
    async fn fail(&self, message: &str) -> ! {
        let quick = Duration::from_secs(5);
        let url = match tokio::time::timeout(quick, self.client.current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            Ok(Err(e)) => format!("(unknown: {e})"),
            Err(_) => "(unknown: no answer)".into(),
        };
        let text = match tokio::time::timeout(
            quick,
            self.client.execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            ),
        )
        .await
        {
            Ok(Ok(Value::String(text))) => head_chars(&text, 1500).to_string(),
            _ => "(unavailable)".into(),
        };
        let source = match tokio::time::timeout(quick, self.client.source()).await {
            Ok(Ok(source)) => head_chars(&source, 3000).to_string(),
            _ => "(unavailable)".into(),
        };
        panic!(
            "{message}\nURL: {url}\n--- page text ---\n{text}\n--- page source (start) ---\n{source}\n---"
        );
    }

    /// chromedriver's output, when the error says the connection to it is gone.
    fn driver_context_if_lost(&self, e: &CmdError) -> String {
        match e {
            CmdError::Lost(_) | CmdError::Failed(_) | CmdError::FailedC(_) => {
                self.driver.log_tail()
            }
            _ => String::new(),
        }
    }
}

/// The WebDriver capabilities of a session.
fn capabilities(
    binary: &Path,
    profile: &Path,
    phone: Option<(u32, u32)>,
) -> fantoccini::wd::Capabilities {
    let (width, height) = phone.unwrap_or(DESKTOP_WINDOW);
    let mut args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        format!("--window-size={width},{height}"),
        "--lang=ja-JP".into(),
        format!("--user-data-dir={}", profile.display()),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--password-store=basic".into(),
        // Tests talk to 127.0.0.1 only: no calls home, no updates, no translation bar.
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-default-apps".into(),
        "--disable-extensions".into(),
        "--disable-domain-reliability".into(),
        "--disable-client-side-phishing-detection".into(),
        "--no-pings".into(),
        "--disable-features=Translate,MediaRouter,OptimizationHints".into(),
    ];
    if phone.is_none() {
        args.push("--force-device-scale-factor=1".into());
    }
    let mut options = json!({
        "binary": binary.to_string_lossy(),
        "args": args,
        "prefs": { "intl": { "accept_languages": "ja-JP,ja" } },
    });
    if let Some((width, height)) = phone {
        options["mobileEmulation"] = json!({
            "deviceMetrics": {
                "width": width,
                "height": height,
                "pixelRatio": 2.0,
                "mobile": true,
                "touch": true,
            },
            "userAgent": MOBILE_USER_AGENT,
        });
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": options,
        "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    }
}

/// Debian's `/usr/bin/chromium` is a shell wrapper that adds flags (extensions, API keys); the
/// browser itself is `/usr/lib/chromium/chromium`.
fn browser_binary(found: &Path) -> PathBuf {
    let real = Path::new("/usr/lib/chromium/chromium");
    if found == Path::new("/usr/bin/chromium") && real.is_file() {
        real.to_path_buf()
    } else {
        found.to_path_buf()
    }
}

/// Prints a warning when fontconfig knows no Japanese font (screenshots would show boxes).
fn warn_without_japanese_font() {
    let Ok(out) = std::process::Command::new("fc-list")
        .arg(":lang=ja")
        .arg("family")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    if out.status.success() && out.stdout.iter().all(u8::is_ascii_whitespace) {
        eprintln!(
            "WARNING: no Japanese font is installed: screenshots will show boxes \
             (apt install fonts-ipaexfont-gothic)"
        );
    }
}

/// chromedriver on a fresh port and a Chromium session through it; the reason (with
/// chromedriver's log) when no session could be had.
async fn start_session(
    chromedriver: &std::path::Path,
    binary: &std::path::Path,
    phone: Option<(u32, u32)>,
) -> Result<(fantoccini::Client, Driver), String> {
    let tmp = tempfile::Builder::new()
        .prefix("inkan-browser-")
        .tempdir()
        .unwrap();
    let profile = tmp.path().join("profile");
    let log = tmp.path().join("chromedriver.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let port = free_port();

    let mut command = tokio::process::Command::new(chromedriver);
    command
        .arg(format!("--port={port}"))
        // Chromium on Linux takes its UI language (navigator.language) from LANGUAGE.
        .env("LANGUAGE", "ja")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .kill_on_drop(true)
        .process_group(0);
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
    let pgid = child.id();
    let mut driver = Driver {
        child,
        pgid,
        log,
        _tmp: tmp,
    };
    wait_listening(&mut driver, port).await?;

    let capabilities = capabilities(binary, &profile, phone);
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(capabilities);
    let url = format!("http://127.0.0.1:{port}");
    match tokio::time::timeout(SESSION_TIMEOUT, builder.connect(&url)).await {
        Ok(Ok(client)) => Ok((client, driver)),
        Ok(Err(e)) => Err(format!(
            "chromedriver could not start a Chromium session ({}): {e}\n{}",
            binary.display(),
            driver.log_tail()
        )),
        Err(_) => Err(format!(
            "no Chromium session within {SESSION_TIMEOUT:?} ({})\n{}",
            binary.display(),
            driver.log_tail()
        )),
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

/// Waits until chromedriver accepts connections on `port` (at most 20 s); why not, otherwise.
async fn wait_listening(driver: &mut Driver, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + DRIVER_START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = driver.child.try_wait() {
            return Err(format!(
                "chromedriver exited at start ({status})\n{}",
                driver.log_tail()
            ));
        }
        let attempt = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
        )
        .await;
        if let Ok(Ok(_)) = attempt {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "chromedriver did not listen on 127.0.0.1:{port} within {DRIVER_START_TIMEOUT:?}\n{}",
                driver.log_tail()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs one WebDriver command, panicking if it has no answer within 60 s.
async fn bounded<T>(what: &str, command: impl Future<Output = T>) -> T {
    tokio::time::timeout(COMMAND_TIMEOUT, command)
        .await
        .unwrap_or_else(|_| {
            panic!("WebDriver command `{what}` had no answer within {COMMAND_TIMEOUT:?}")
        })
}

/// Errors worth another try while a page is changing.
fn retryable(e: &CmdError) -> bool {
    matches!(e, CmdError::Standard(_))
        && !(e.is_invalid_selector()
            || e.is_unexpected_alert_open()
            || e.is_invalid_session_id()
            || e.is_invalid_argument())
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// `target/ui-screenshots`: under `CARGO_TARGET_DIR` when set, else the `target` folder beside
/// the workspace's Cargo.lock (found from the current folder upwards).
fn screenshot_root() -> PathBuf {
    let workspace = workspace_root();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace
            .clone()
            .unwrap_or_else(|| std::env::current_dir().unwrap())
            .join(dir),
        None => workspace
            .map(|w| w.join("target"))
            .unwrap_or_else(|| std::env::temp_dir().join("inkan-target")),
    };
    target.join("ui-screenshots")
}

fn workspace_root() -> Option<PathBuf> {
    let start =
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
}

/// A name usable as one file or folder name: letters (any script), digits, `-`, `_` and `.`.
fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('.');
    if cleaned.is_empty() {
        "unnamed".into()
    } else {
        cleaned.to_string()
    }
}

fn head_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

fn tail_chars(text: &str, max: usize) -> &str {
    let count = text.chars().count();
    if count <= max {
        return text;
    }
    match text.char_indices().nth(count - max) {
        Some((i, _)) => &text[i..],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_file_names() {
        assert_eq!(sanitize("署名 完了/ok"), "署名-完了-ok");
        assert_eq!(sanitize(".."), "unnamed");
        assert_eq!(head_chars("署名手続き", 2), "署名");
        assert_eq!(tail_chars("署名手続き", 2), "続き");
    }
}

/// WebDriver's WebAuthn extension commands (W3C WebAuthn Level 2, §11).
#[derive(Debug)]
enum VirtualAuthenticator {
    Add,
    Remove(String),
}

impl fantoccini::wd::WebDriverCompatibleCommand for VirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        match self {
            VirtualAuthenticator::Add => {
                base_url.join(&format!("session/{session}/webauthn/authenticator"))
            }
            VirtualAuthenticator::Remove(id) => {
                base_url.join(&format!("session/{session}/webauthn/authenticator/{id}"))
            }
        }
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        match self {
            VirtualAuthenticator::Add => (
                http::Method::POST,
                Some(
                    serde_json::json!({
                        "protocol": "ctap2",
                        "transport": "internal",
                        "hasResidentKey": true,
                        "hasUserVerification": true,
                        "isUserVerified": true,
                        "automaticPresenceSimulation": true,
                    })
                    .to_string(),
                ),
            ),
            VirtualAuthenticator::Remove(_) => (http::Method::DELETE, None),
        }
    }
}
