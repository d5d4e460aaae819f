//! Where the Japanese font is: every drawing of a contract (the 締結証明書ID stamp, signature and
//! field appearances, the 締結証明書, page images) uses the same one, so they look alike and a
//! missing font is one thing to install. The choice is decided here; looking at the environment
//! and the file system is the caller's (this crate does no I/O).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment variable naming the font file.
pub const FONT_VARIABLE: &str = "INKAN_FONT";

/// Where Japanese fonts usually are: Debian's `fonts-ipaexfont-gothic` (IPAexGothic) first.
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

/// The file `configured` names (the value of [`FONT_VARIABLE`], whether the file exists or not:
/// a wrong setting is an error where the font is read, not a silent fallback), else the first
/// candidate for which `exists` holds.
pub fn japanese_font_path(
    configured: Option<OsString>,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if let Some(path) = configured {
        return Some(path.into());
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
        let set = Some(OsString::from("/srv/fonts/mincho.ttf"));
        assert_eq!(
            japanese_font_path(set, |_| false),
            Some(PathBuf::from("/srv/fonts/mincho.ttf"))
        );
        let only_ipag = |p: &Path| p.ends_with("ipag.ttf");
        assert_eq!(
            japanese_font_path(None, only_ipag),
            Some(PathBuf::from(
                "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
            ))
        );
        assert_eq!(japanese_font_path(None, |_| false), None);
    }
}
