//! WCAG 2.2 AA checks of the page a [`Browser`] shows, by axe-core (Deque's accessibility engine,
//! from the npm registry; `.ci/run` installs it) injected through WebDriver, plus the two checks
//! axe leaves to people that a script can still make: nothing scrolls sideways (reflow, 1.4.10)
//! and the page can be used by keyboard.
//!
//! axe-core is found at `INKAN_AXE_CORE` (the path of `axe.min.js`), else under
//! `~/.cache/inkan/axe/node_modules/axe-core/axe.min.js`. Without it the checks print SKIPPED
//! (and fail under `CI=true`), like every outside tool.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::browser::Browser;

/// The rule sets run: WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's tags).
const WCAG_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// The page's width, the window's, and the first elements that reach past the window (outside
/// any box that scrolls on its own). The root's client width is the layout viewport (320 px on a
/// 320 px phone): `innerWidth` may grow with the content when a phone zooms out to show it all.
const REFLOW_PROBE: &str = r#"
    const root = document.documentElement;
    const width = root.clientWidth;
    const clipped = (e) => {
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== 'visible') return true;
        }
        return false;
    };
    const past = [...document.body.querySelectorAll('*')]
        .filter(e => e.getBoundingClientRect().right > width + 1 && !clipped(e))
        .slice(0, 6)
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '')
            + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)');
    return [root.scrollWidth, width, past.join(', ')];
"#;

/// One rule a page breaks, as axe reports it.
#[derive(Debug, Clone)]
pub struct Violation {
    /// axe's rule id (`color-contrast`, `label`, `target-size`, …).
    pub rule: String,
    /// What the rule asks, in axe's words.
    pub help: String,
    /// The elements that break it (CSS selectors) with axe's summary of what to fix.
    pub nodes: Vec<(String, String)>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "- {}: {}", self.rule, self.help)?;
        for (target, summary) in &self.nodes {
            writeln!(f, "    {target}: {}", summary.replace('\n', " / "))?;
        }
        Ok(())
    }
}

/// axe-core's source, read once; `None` (after printing why, or a panic under CI) when it is not
/// installed.
fn axe_source() -> Option<&'static str> {
    static SOURCE: OnceLock<Option<String>> = OnceLock::new();
    let source = SOURCE.get_or_init(|| {
        let path = std::env::var_os("INKAN_AXE_CORE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| {
                    PathBuf::from(home).join(".cache/inkan/axe/node_modules/axe-core/axe.min.js")
                })
            })?;
        std::fs::read_to_string(&path).ok()
    });
    if source.is_none() {
        crate::skip_or_fail(
            "axe-core is not installed (the accessibility checks inject it into the page): \
             npm install --prefix ~/.cache/inkan/axe axe-core, or set INKAN_AXE_CORE",
        );
    }
    source.as_deref()
}

impl Browser {
    /// The WCAG 2.2 A/AA rules the page shown now breaks, as axe-core finds them; `None` when
    /// axe-core is not installed (see the module's documentation).
    pub async fn axe_violations(&self) -> Option<Vec<Violation>> {
        let source = axe_source()?;
        self.client()
            .execute(&format!("{source}\nreturn typeof axe;"), vec![])
            .await
            .unwrap_or_else(|e| panic!("cannot inject axe-core: {e}"));
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {
                runOnly: { type: 'tag', values: arguments[0] },
                // WCAG 2.2's 24 px targets (2.5.8) is off by default in axe: asked for here.
                rules: { 'target-size': { enabled: true } },
                resultTypes: ['violations'],
            }).then(r => done(r.violations.map(v => ({
                rule: v.id,
                help: v.help,
                nodes: v.nodes.slice(0, 8).map(n => [n.target.join(' '), n.failureSummary || '']),
            })))).catch(e => done({ error: String(e) }));
        "#;
        let result = self
            .client()
            .execute_async(script, vec![json!(WCAG_TAGS)])
            .await
            .unwrap_or_else(|e| panic!("axe-core did not run: {e}"));
        if let Some(error) = result.get("error") {
            panic!("axe-core failed on the page: {error}");
        }
        let violations = result
            .as_array()
            .unwrap_or_else(|| panic!("axe-core answered {result}"))
            .iter()
            .map(|v| Violation {
                rule: text(&v["rule"]),
                help: text(&v["help"]),
                nodes: v["nodes"]
                    .as_array()
                    .map(|nodes| nodes.iter().map(|n| (text(&n[0]), text(&n[1]))).collect())
                    .unwrap_or_default(),
            })
            .collect();
        Some(violations)
    }

    /// Panics, listing every violation, unless axe-core finds none on the page shown now and the
    /// page fits the width of the window (no sideways scrolling). `what` names the page in the
    /// message. Does nothing more than print when axe-core is missing outside CI.
    pub async fn assert_accessible(&self, what: &str) {
        let overflow = self
            .client()
            .execute(REFLOW_PROBE, vec![])
            .await
            .unwrap_or_else(|e| panic!("cannot measure {what}: {e}"));
        let (scroll, inner) = (overflow[0].as_f64(), overflow[1].as_f64());
        if let (Some(scroll), Some(inner)) = (scroll, inner) {
            assert!(
                scroll <= inner + 1.0,
                "{what} scrolls sideways: {scroll} px of content in a {inner} px window \
                 (WCAG 1.4.10 reflow); past the edge: {}",
                overflow[2]
            );
        }
        let Some(violations) = self.axe_violations().await else {
            return;
        };
        if !violations.is_empty() {
            let list: String = violations.iter().map(ToString::to_string).collect();
            panic!(
                "{what} breaks {} WCAG 2.2 A/AA rule(s) (axe-core):\n{list}",
                violations.len()
            );
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
