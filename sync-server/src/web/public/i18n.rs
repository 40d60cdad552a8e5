//! Tibetan beside Chinese on the resident pages, for 甘南藏族自治州 (division codes 6230…).
//!
//! Chinese is the source language: the pages are written in Chinese, and the message catalogue
//! (`sync-server/i18n/resident.bo.toml`) maps each Chinese text — or the template of a message
//! built at run time, such as a field's check from `core` — to Tibetan. A Tibetan page shows
//! every text as Tibetan with the Chinese beside it, never Tibetan alone: the translations are
//! not yet reviewed by a native speaker, and the cadre who helps a resident reads Chinese. A
//! text the catalogue lacks stays in Chinese (the fallback).
//!
//! The language is chosen by `?lang=bo|zh` (remembered in a cookie), else by that cookie, else
//! by the village: villages of 甘南 get Tibetan. Numbers, dates and ID numbers stay in Arabic
//! digits (the catalogue's check refuses Tibetan digits).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;
use yijian_core::division::DivisionCode;

/// The catalogue's text, built into the binary.
pub const CATALOGUE_TOML: &str = include_str!("../../../i18n/resident.bo.toml");

/// The cookie that remembers a resident's choice.
pub const LANG_COOKIE: &str = "yj_lang";

/// The page languages: Chinese, or Tibetan with Chinese beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    Bo,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "bo" | "bo-CN" => Some(Lang::Bo),
            _ => None,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::Bo => "bo",
        }
    }

    /// The other language (what the switch on every page offers).
    pub const fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::Bo,
            Lang::Bo => Lang::Zh,
        }
    }

    /// A text on the page: Chinese, or Tibetan above its Chinese.
    pub fn t(self, zh: &str) -> Markup {
        match self.tibetan(zh) {
            Some(bo) => html! {
                span.bi { span.bo lang="bo" { (bo) } span.zh lang="zh-CN" { (zh) } }
            },
            None => html! { (zh) },
        }
    }

    /// A template filled with values (`{name}` in the catalogue's text) and shown as [`Lang::t`].
    pub fn f(self, zh_template: &str, values: &[(&str, &str)]) -> Markup {
        self.t(&fill(zh_template, values))
    }

    /// A text where markup cannot go (the window title): "Tibetan · Chinese".
    pub fn plain(self, zh: &str) -> String {
        match self.tibetan(zh) {
            Some(bo) => format!("{bo} · {zh}"),
            None => zh.to_owned(),
        }
    }

    fn tibetan(self, zh: &str) -> Option<String> {
        match self {
            Lang::Zh => None,
            Lang::Bo => catalogue().tibetan(zh),
        }
    }
}

/// Whether a village is one whose pages open in Tibetan: 甘南藏族自治州 is 6230.
pub fn tibetan_area(village: &DivisionCode) -> bool {
    village.as_str().starts_with("6230")
}

/// The language asked for in the address (`?lang=`), if any.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    pub lang: Option<String>,
}

impl LangQuery {
    pub fn asked(&self) -> Option<Lang> {
        self.lang.as_deref().and_then(Lang::parse)
    }
}

/// The page language: asked for now, else remembered, else the village's.
pub fn choose(asked: Option<Lang>, headers: &HeaderMap, village: Option<&DivisionCode>) -> Lang {
    asked
        .or_else(|| remembered(headers))
        .unwrap_or_else(|| match village {
            Some(v) if tibetan_area(v) => Lang::Bo,
            _ => Lang::Zh,
        })
}

/// The language the resident chose before, from the cookie.
pub fn remembered(headers: &HeaderMap) -> Option<Lang> {
    crate::web::guard::cookie(headers, LANG_COOKIE).and_then(Lang::parse)
}

/// Remember an explicit choice for a year (the resident's phone; nothing personal in it).
pub fn remember(mut r: Response, asked: Option<Lang>) -> Response {
    if let Some(lang) = asked {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// `{name}` in a template replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// One entry of the catalogue as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub zh: String,
    pub bo: String,
    /// Checked by a native speaker. Unreviewed text is shown with a note and listed in the README.
    #[serde(default)]
    pub reviewed: bool,
    #[serde(default)]
    pub reviewer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    message: Vec<Entry>,
}

/// A piece of a template: literal text or a named value.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Value(String),
}

/// The catalogue, checked and ready for lookups.
#[derive(Debug, Default)]
pub struct Catalogue {
    entries: Vec<Entry>,
    exact: HashMap<String, usize>,
    /// Entries with values, most literal text first (the most specific template wins).
    templates: Vec<(usize, Vec<Piece>)>,
}

/// What is wrong with a catalogue file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("the catalogue is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("“{0}” appears twice")]
    Duplicate(String),
    #[error("“{0}” has no Tibetan text")]
    Empty(String),
    #[error("“{zh}”: the Tibetan text's values {bo:?} differ from the Chinese {zh_values:?}")]
    Values {
        zh: String,
        zh_values: Vec<String>,
        bo: Vec<String>,
    },
    #[error("“{0}”: two values side by side cannot be told apart")]
    Adjacent(String),
    #[error("“{0}”: numbers stay in Arabic digits, not Tibetan ones")]
    TibetanDigits(String),
    #[error("“{0}”: the Tibetan text has no Tibetan letters")]
    NotTibetan(String),
}

fn pieces(template: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        match rest[open..].find('}') {
            Some(close) if close > 1 => {
                if open > 0 {
                    out.push(Piece::Text(rest[..open].to_owned()));
                }
                out.push(Piece::Value(rest[open + 1..open + close].to_owned()));
                rest = &rest[open + close + 1..];
            }
            _ => break,
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_owned()));
    }
    out
}

fn value_names(p: &[Piece]) -> Vec<String> {
    let mut names: Vec<String> = p
        .iter()
        .filter_map(|x| match x {
            Piece::Value(n) => Some(n.clone()),
            Piece::Text(_) => None,
        })
        .collect();
    names.sort();
    names
}

/// The values of `text` read against a template, or `None` when it does not fit.
fn read_values<'t>(p: &[Piece], text: &'t str) -> Option<Vec<(&'t str, String)>> {
    match p.split_first() {
        None => text.is_empty().then(Vec::new),
        Some((Piece::Text(lit), rest)) => read_values(rest, text.strip_prefix(lit.as_str())?),
        Some((Piece::Value(name), rest)) => match rest.first() {
            None => (!text.is_empty()).then(|| vec![(text, name.clone())]),
            Some(Piece::Text(next)) => {
                // Every place the next literal text starts is a candidate end of the value.
                let mut from = 0;
                while let Some(at) = text[from..].find(next.as_str()) {
                    let end = from + at;
                    if end > 0
                        && let Some(mut more) = read_values(rest, &text[end..])
                    {
                        more.insert(0, (&text[..end], name.clone()));
                        return Some(more);
                    }
                    from = end + next.len().max(1);
                    if from > text.len() {
                        break;
                    }
                }
                None
            }
            Some(Piece::Value(_)) => None,
        },
    }
}

impl Catalogue {
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text)?;
        Catalogue::from_entries(file.message)
    }

    /// A catalogue from its entries, each checked: Tibetan present and in Tibetan letters, no
    /// Tibetan digits, the same values on both sides, no value beside another, no repeat. (The
    /// app's catalogue, `ui/src/i18n/bo.json`, is checked by the same rules in a test.)
    pub fn from_entries(entries: Vec<Entry>) -> Result<Catalogue, CatalogueError> {
        let mut cat = Catalogue::default();
        for (i, e) in entries.into_iter().enumerate() {
            if e.bo.trim().is_empty() {
                return Err(CatalogueError::Empty(e.zh));
            }
            if e.bo.chars().any(|c| ('\u{0F20}'..='\u{0F33}').contains(&c)) {
                return Err(CatalogueError::TibetanDigits(e.zh));
            }
            if !e.bo.chars().any(|c| ('\u{0F00}'..='\u{0FFF}').contains(&c)) {
                return Err(CatalogueError::NotTibetan(e.zh));
            }
            let zp = pieces(&e.zh);
            let bp = pieces(&e.bo);
            if value_names(&zp) != value_names(&bp) {
                return Err(CatalogueError::Values {
                    zh_values: value_names(&zp),
                    bo: value_names(&bp),
                    zh: e.zh,
                });
            }
            if zp
                .windows(2)
                .any(|w| matches!(w, [Piece::Value(_), Piece::Value(_)]))
            {
                return Err(CatalogueError::Adjacent(e.zh));
            }
            if cat.exact.insert(e.zh.clone(), i).is_some() {
                return Err(CatalogueError::Duplicate(e.zh));
            }
            if zp.iter().any(|p| matches!(p, Piece::Value(_))) {
                cat.templates.push((i, zp));
            }
            cat.entries.push(e);
        }
        let literal = |p: &[Piece]| -> usize {
            p.iter()
                .map(|x| match x {
                    Piece::Text(t) => t.chars().count(),
                    Piece::Value(_) => 0,
                })
                .sum()
        };
        cat.templates
            .sort_by_key(|(_, p)| std::cmp::Reverse(literal(p)));
        Ok(cat)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The Tibetan for a Chinese text: its own entry, or a template it fits, the values
    /// themselves translated when the catalogue knows them (a step's name inside "下一步：…").
    pub fn tibetan(&self, zh: &str) -> Option<String> {
        self.tibetan_at(zh, 0)
    }

    fn tibetan_at(&self, zh: &str, depth: u8) -> Option<String> {
        if let Some(&i) = self.exact.get(zh) {
            return Some(self.entries[i].bo.clone());
        }
        if depth > 1 {
            return None;
        }
        for (i, p) in &self.templates {
            if let Some(values) = read_values(p, zh) {
                let named: Vec<(String, String)> = values
                    .into_iter()
                    .map(|(v, name)| {
                        let shown = self
                            .tibetan_at(v, depth + 1)
                            .unwrap_or_else(|| v.to_owned());
                        (name, shown)
                    })
                    .collect();
                let pairs: Vec<(&str, &str)> = named
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                return Some(fill(&self.entries[*i].bo, &pairs));
            }
        }
        None
    }

    /// Whether any entry still waits for a native speaker's review.
    pub fn has_unreviewed(&self) -> bool {
        self.entries.iter().any(|e| !e.reviewed)
    }
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| match Catalogue::parse(CATALOGUE_TOML) {
    Ok(c) => c,
    Err(e) => {
        // The test suite parses the same text: this is reached only by an untested build.
        tracing::error!("the Tibetan catalogue is broken, pages stay in Chinese: {e}");
        Catalogue::default()
    }
});

/// The resident pages' catalogue.
pub fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

// ---------------------------------------------------------------------------------------------
// The font
// ---------------------------------------------------------------------------------------------

/// Noto Serif Tibetan cut down to the glyphs the catalogue needs (`tools/subset_tibetan_font.py`).
pub const FORM_FONT: &[u8] = include_bytes!("../../../assets/fonts/tibetan-form.woff2");

/// What the font was cut for: a digest of the catalogue's Tibetan at the time.
pub const FORM_FONT_MANIFEST: &str = include_str!("../../../assets/fonts/tibetan-form.json");

/// The font's address, named by its content so browsers may keep it for a year.
pub fn font_path() -> &'static str {
    static PATH: LazyLock<String> = LazyLock::new(|| {
        use sha2::{Digest, Sha256};
        let sum = hex::encode(Sha256::digest(FORM_FONT));
        format!("/assets/tibetan-form-{}.woff2", &sum[..16])
    });
    &PATH
}

/// The digest the font script records: sha256 of the catalogue's Tibetan texts, sorted, one
/// per line.
pub fn catalogue_digest(cat: &Catalogue) -> String {
    use sha2::{Digest, Sha256};
    let mut texts: Vec<&str> = cat.entries().iter().map(|e| e.bo.as_str()).collect();
    texts.sort_unstable();
    hex::encode(Sha256::digest(texts.join("\n").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_every_entry_is_checked() {
        let cat = Catalogue::parse(CATALOGUE_TOML).expect("catalogue");
        assert!(cat.entries().len() > 100, "{}", cat.entries().len());
        assert!(cat.has_unreviewed());
    }

    #[test]
    fn the_font_was_cut_for_this_catalogue() {
        let cat = Catalogue::parse(CATALOGUE_TOML).expect("catalogue");
        let manifest: serde_json::Value =
            serde_json::from_str(FORM_FONT_MANIFEST).expect("manifest");
        assert_eq!(
            manifest["catalogue_sha256"].as_str(),
            Some(catalogue_digest(&cat).as_str()),
            "the Tibetan catalogue changed: run `make fonts` to cut the form's font again"
        );
        assert_eq!(manifest["bytes"].as_u64(), Some(FORM_FONT.len() as u64));
        assert_eq!(&FORM_FONT[..4], b"wOF2");
    }

    #[test]
    fn exact_texts_templates_and_values_inside_them() {
        let cat = Catalogue::parse(CATALOGUE_TOML).expect("catalogue");
        assert_eq!(cat.tibetan("姓名").as_deref(), Some("མིང་།"));
        assert_eq!(
            cat.tibetan("姓名最多30个字").as_deref(),
            Some("མིང་ཡིག་འབྲུ་30ལས་མི་མང་།")
        );
        // A value inside a template is translated when the catalogue knows it: the step and
        // the date of the status page's next step.
        let next = cat
            .tibetan("下一步：村网格员上门核实，应在2026年12月8日前完成")
            .expect("template");
        assert!(next.contains("གྲོང་ཚོའི་དྲ་མིག་ལས་བྱེད་པས་ཁྱིམ་དུ་ཞིབ་བཤེར།"), "{next}");
        assert!(next.contains("སྤྱི་ལོ་2026 ཟླ་12 ཚེས་8"), "{next}");
        // The overdue form is its own, longer template, not the on-time one with a tail.
        let late = cat
            .tibetan("下一步：县里审批，原定2026年11月2日前完成（已超期，已督促办理）")
            .expect("late");
        assert!(late.contains("དུས་ཚོད་ཡོལ་ཟིན"), "{late}");
        assert_eq!(cat.tibetan("没有这句话"), None);
        // A value the catalogue does not know (a place name) stays as it is.
        let r = cat
            .tibetan("合作市那吾村的网格员会在5个工作日内上门核实情况。")
            .expect("receipt");
        assert!(r.starts_with("合作市那吾村གི་"), "{r}");
    }

    #[test]
    fn broken_catalogues_are_refused_with_the_reason() {
        let one = |zh: &str, bo: &str| format!("[[message]]\nzh = \"{zh}\"\nbo = \"{bo}\"\n");
        let two = format!("{}{}", one("姓名", "མིང་།"), one("姓名", "མིང་།"));
        assert!(matches!(
            Catalogue::parse(&two),
            Err(CatalogueError::Duplicate(_))
        ));
        assert!(matches!(
            Catalogue::parse(&one("有{n}处", "{m}ཡོད།")),
            Err(CatalogueError::Values { .. })
        ));
        assert!(matches!(
            Catalogue::parse(&one("{a}{b}", "{a}{b}ཡོད།")),
            Err(CatalogueError::Adjacent(_))
        ));
        assert!(matches!(
            Catalogue::parse(&one("18位", "ཨང་༡༨")),
            Err(CatalogueError::TibetanDigits(_))
        ));
        assert!(matches!(
            Catalogue::parse(&one("姓名", "xingming")),
            Err(CatalogueError::NotTibetan(_))
        ));
        assert!(matches!(
            Catalogue::parse(&one("姓名", " ")),
            Err(CatalogueError::Empty(_))
        ));
        assert!(Catalogue::parse("[[message]]\nzh = 1").is_err());
    }

    /// The app's catalogue, read as the server's.
    fn app_catalogue() -> Catalogue {
        #[derive(Deserialize)]
        struct AppFile {
            messages: Vec<Entry>,
        }
        let text = include_str!("../../../../ui/src/i18n/bo.json");
        let file: AppFile = serde_json::from_str(text).expect("ui/src/i18n/bo.json");
        Catalogue::from_entries(file.messages).expect("the app's catalogue")
    }

    /// The README's list of Tibetan texts awaiting a native speaker's review, built from both
    /// catalogues.
    fn review_list(pages: &Catalogue, app: &Catalogue) -> String {
        let mut out = String::new();
        let waiting = |c: &Catalogue| c.entries().iter().filter(|e| !e.reviewed).count();
        out.push_str(&format!(
            "<details><summary>{} texts on the resident pages and {} in the app await review \
             (generated from the catalogues by <code>YIJIAN_WRITE_README=1 cargo test -p \
             yijian-server i18n</code>)</summary>\n\n",
            waiting(pages),
            waiting(app)
        ));
        out.push_str("| Where | 中文 (source) | བོད་ཡིག (draft) |\n|---|---|---|\n");
        for (place, cat) in [("pages", pages), ("app", app)] {
            for e in cat.entries().iter().filter(|e| !e.reviewed) {
                let cell = |t: &str| t.replace('|', "\\|");
                out.push_str(&format!(
                    "| {place} | {} | {} |\n",
                    cell(&e.zh),
                    cell(&e.bo)
                ));
            }
        }
        out.push_str("\n</details>\n");
        out
    }

    #[test]
    fn the_readme_lists_every_tibetan_text_awaiting_review() {
        const START: &str = "<!-- tibetan-review:start -->\n";
        const END: &str = "<!-- tibetan-review:end -->";
        let pages = Catalogue::parse(CATALOGUE_TOML).expect("catalogue");
        let list = review_list(&pages, &app_catalogue());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).expect("README.md");
        let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
            panic!("README.md has no {START:?} … {END:?} section");
        };
        let want = format!("{}{START}{list}{}", &readme[..a], &readme[b..]);
        if std::env::var_os("YIJIAN_WRITE_README").is_some() {
            std::fs::write(&path, &want).expect("write README.md");
            return;
        }
        assert!(
            readme == want,
            "README.md's list of unreviewed Tibetan is out of date: run \
             YIJIAN_WRITE_README=1 cargo test -p yijian-server i18n"
        );
    }

    /// Every Tibetan syllable of both catalogues is one Debian's Tibetan dictionary
    /// (hunspell-bo) knows: a typing slip is caught, a wrong translation is not.
    #[test]
    fn every_tibetan_syllable_is_spelled_as_the_dictionary_has_it() {
        use std::io::Write;
        let dict = std::path::Path::new("/usr/share/hunspell/bo.dic");
        let hunspell = std::process::Command::new("hunspell")
            .arg("-v")
            .output()
            .is_ok();
        if !(dict.exists() && hunspell) {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "hunspell and hunspell-bo are missing (scripts/install-deps.sh installs them)"
            );
            eprintln!("skipped: hunspell-bo is not installed here");
            return;
        }
        let pages = Catalogue::parse(CATALOGUE_TOML).expect("catalogue");
        let app = app_catalogue();
        let mut syllables = std::collections::BTreeSet::new();
        for e in pages.entries().iter().chain(app.entries()) {
            let mut word = String::new();
            for c in e.bo.chars().chain(std::iter::once(' ')) {
                // Tibetan letters and vowel signs make a syllable; the tsheg, the shad and
                // everything else end it.
                if ('\u{0F40}'..='\u{0FBC}').contains(&c) {
                    word.push(c);
                } else if !word.is_empty() {
                    syllables.insert(std::mem::take(&mut word));
                }
            }
        }
        assert!(syllables.len() > 200, "{}", syllables.len());
        let unknown = |words: &str| -> String {
            let mut child = std::process::Command::new("hunspell")
                .args(["-d", "/usr/share/hunspell/bo", "-l"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("hunspell");
            let mut input = child.stdin.take().expect("stdin");
            input.write_all(words.as_bytes()).expect("write");
            drop(input);
            let out = child.wait_with_output().expect("hunspell output");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let text: String = syllables.iter().map(|s| format!("{s}\n")).collect();
        let slips = unknown(&text);
        assert!(
            slips.is_empty(),
            "syllables the dictionary does not know:\n{slips}"
        );
        // The check can fail: a syllable that is not Tibetan is caught.
        assert_eq!(unknown("སྒྲིགཀ\n"), "སྒྲིགཀ", "hunspell accepts anything");
    }

    #[test]
    fn the_choice_asked_beats_the_cookie_which_beats_the_village() {
        let gannan = DivisionCode::parse("623001001001").expect("code");
        let lanzhou = DivisionCode::parse("620102001001").expect("code");
        let none = HeaderMap::new();
        assert_eq!(choose(None, &none, Some(&gannan)), Lang::Bo);
        assert_eq!(choose(None, &none, Some(&lanzhou)), Lang::Zh);
        assert_eq!(choose(None, &none, None), Lang::Zh);
        let mut zh = HeaderMap::new();
        zh.insert(header::COOKIE, HeaderValue::from_static("yj_lang=zh"));
        assert_eq!(choose(None, &zh, Some(&gannan)), Lang::Zh);
        assert_eq!(choose(Some(Lang::Bo), &zh, Some(&lanzhou)), Lang::Bo);
    }

    #[test]
    fn tibetan_is_never_shown_alone() {
        let m = Lang::Bo.t("提交申报").into_string();
        assert!(m.contains("ཞུ་འབུལ་སྤྲོད་པ།") && m.contains("提交申报"), "{m}");
        assert_eq!(Lang::Zh.t("提交申报").into_string(), "提交申报");
        assert_eq!(Lang::Bo.t("没有译文").into_string(), "没有译文");
        assert_eq!(Lang::Bo.plain("申报回执"), "ཞུ་འབུལ་གྱི་འབྱོར་ཐོ། · 申报回执");
    }
}
