//! Where the Japanese font is: every drawing of a contract (the 締結証明書ID stamp, signature and
//! field appearances, the 締結証明書, page images) uses the same one, so they look alike and a
//! missing font is one thing to install. The choice is decided here; reading the setting (the
//! service's `Config`, the command line's environment) and looking at the file system is the
//! caller's (this crate does no I/O).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable naming the font file, read where settings are read (`Config` in
/// inkan-service, the `inkan` command), never by the libraries that draw.
pub const FONT_VARIABLE: &str = "INKAN_FONT";

/// The font file this process was told to use.
static CHOSEN: OnceLock<PathBuf> = OnceLock::new();

/// Names the font file every later [`japanese_font_path`] answers, whether the file exists or
/// not (a wrong setting is an error where the font is read, not a silent fallback). The first
/// choice stays: a process draws everything with one font.
pub fn choose(path: PathBuf) {
    let _ = CHOSEN.set(path);
}

/// The chosen file ([`choose`]), else the first candidate for which `exists` holds.
pub fn japanese_font_path(exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    chosen_or_found(CHOSEN.get().cloned(), exists)
}

/// Where Japanese fonts usually are: Debian's `fonts-ipaexfont-gothic` (IPAexGothic) first.
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

fn chosen_or_found(chosen: Option<PathBuf>, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    if let Some(path) = chosen {
        return Some(path);
    }
    CANDIDATES
        .iter()
        .map(Path::new)
        .find(|p| exists(p))
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_first_then_the_first_font_there() {
        let set = Some(PathBuf::from("/srv/fonts/mincho.ttf"));
        assert_eq!(
            chosen_or_found(set, |_| false),
            Some(PathBuf::from("/srv/fonts/mincho.ttf"))
        );
        let only_ipag = |p: &Path| p.ends_with("ipag.ttf");
        assert_eq!(
            chosen_or_found(None, only_ipag),
            Some(PathBuf::from(
                "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
            ))
        );
        assert_eq!(chosen_or_found(None, |_| false), None);
    }
}
