//! Where the Japanese font is: every drawing of a contract (the 締結証明書ID stamp, signature and
//! field appearances, the 締結証明書, page images) uses the same one, so they look alike and a
//! missing font is one thing to install.

use std::path::PathBuf;

/// Where Japanese fonts usually are: Debian's `fonts-ipaexfont-gothic` (IPAexGothic) first.
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

/// The file named by `INKAN_FONT` (whether it exists or not: a wrong setting is an error where
/// it is read, not a silent fallback), else the first Japanese font found on the system.
pub fn japanese_font_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("INKAN_FONT") {
        return Some(path.into());
    }
    CANDIDATES.iter().map(PathBuf::from).find(|p| p.exists())
}
