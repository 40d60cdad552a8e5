//! Page layouts of the server: the resident pages (declaration form, receipt, status) and the
//! pieces they share.
//!
//! Residents are often elderly, on cheap phones, in WeChat's in-app browser (whose care mode
//! enlarges text to ~24 px), on 2G. So the pages are server-rendered HTML that works with
//! JavaScript off, one small inline stylesheet (no font, image or script downloads), body text
//! 20 px and up, high contrast, touch targets ≥ 60 px, everything in one column, and errors
//! written in words beside the field. Markup goes through maud, which escapes every value.

use crate::web::public::i18n::{self, Lang};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The stylesheet of the resident pages (inline: one request per page on a 2G link).
pub const RESIDENT_CSS: &str = r#"
*{box-sizing:border-box}
html{font-size:20px;-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font-family:"PingFang SC","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;line-height:1.5;color:#111;background:#f4f1ea}
header{background:#8b0000;color:#fff;padding:14px 16px}
header h1{margin:0;font-size:1.3rem;line-height:1.3;flex:1 1 12em;min-width:0}
header .bar{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:flex-start;justify-content:space-between}
.switch-form{margin:0}
a.switch,button.switch{display:inline-block;width:auto;min-height:48px;padding:8px 14px;font-size:1rem;font-weight:700;line-height:1.5;color:#fff;background:transparent;border:2px solid #fff;border-radius:8px;text-decoration:none;cursor:pointer}
header p{margin:4px 0 0;font-size:.9rem}
main{max-width:640px;margin:0 auto;padding:16px 12px}
.card{background:#fff;border-radius:10px;padding:16px 14px;margin:0 0 16px;border:1px solid #d8d2c4}
.card>:first-child{margin-top:0}
.card>:last-child{margin-bottom:0}
h2{font-size:1.2rem;margin:0 0 12px;color:#5a0000}
label{display:block;font-weight:700;margin:0 0 6px}
.hint{display:block;font-weight:400;color:#444;font-size:.9rem}
.field{margin:0 0 22px}
input[type=text],input[type=tel],input[type=number],textarea,select{width:100%;font-size:1.1rem;padding:12px;border:2px solid #666;border-radius:8px;background:#fff;color:#111;min-height:60px}
textarea{min-height:120px;line-height:1.5}
input:focus,textarea:focus,select:focus{outline:3px solid #1a56b8;outline-offset:1px;border-color:#1a56b8}
input[type=checkbox]{accent-color:#8b0000}
.bad input,.bad textarea,.bad select{border-color:#b00000;background:#fff6f6}
.bad .choices{border-color:#b00000}
.err{display:block;color:#b00000;font-weight:700;margin:6px 0 0}
.err::before{content:"⚠ "}
.choices{display:flex;flex-direction:column;gap:10px;border:2px solid transparent;border-radius:10px}
.choices label{display:flex;align-items:center;gap:12px;font-weight:400;min-height:60px;margin:0;padding:8px 14px;border:2px solid #666;border-radius:8px;background:#fff;cursor:pointer}
.choices input{flex:none;width:30px;height:30px;margin:0}
.choices label:has(input:checked){border-color:#8b0000;background:#fff3f0;font-weight:700}
@media (min-width:560px){.choices{flex-direction:row;flex-wrap:wrap}.choices label{flex:1 1 40%}}
.consent{display:flex;gap:12px;align-items:flex-start;font-weight:400;cursor:pointer}
.consent input{flex:none;width:30px;height:30px;margin:4px 0 0}
button,input,select,textarea{font-family:inherit}
button,.button{display:block;width:100%;min-height:64px;font-size:1.25rem;font-weight:700;border:0;border-radius:10px;background:#8b0000;color:#fff;padding:12px;text-align:center;text-decoration:none;cursor:pointer}
button.secondary,.button.secondary{background:#fff;color:#8b0000;border:2px solid #8b0000}
.receipt{margin:12px 0;padding:10px 6px;font-size:1.3rem;font-weight:700;line-height:1.3;color:#8b0000;text-align:center;font-variant-numeric:tabular-nums;overflow-wrap:anywhere;background:#fffaf0;border:2px dashed #8b0000;border-radius:8px}
.notice{border-left:6px solid #1a56b8;background:#eef3fb;padding:12px;border-radius:6px;margin:0 0 16px}
.notice.ok{border-left-color:#1b6e20;background:#edf7ee;font-weight:700}
.alert{border-left:6px solid #b00000;background:#fff1f1;padding:12px;border-radius:6px;margin:0 0 16px}
.alert a{color:#8b0000;font-weight:700}
ol.steps{padding-left:1.4em;margin:0}
ol.steps li{margin:0 0 10px}
ul.done{margin:0;padding:0;list-style:none}
.done li{position:relative;margin:0 0 10px;padding-left:1.5em}
.done li::before{content:"✓";position:absolute;left:0;color:#1b6e20;font-weight:700}
.muted{color:#444;font-size:.9rem}
.nw{white-space:nowrap}
a{color:#1a56b8}
footer{text-align:center;color:#444;font-size:.85rem;padding:0 16px 24px}
@media print{header{background:none;color:#000}}
"#;

/// Added to the stylesheet on Tibetan pages: the page's own Tibetan font (only for Tibetan
/// letters: `unicode-range`), and each text as Tibetan above its Chinese.
fn tibetan_css() -> String {
    format!(
        r#"@font-face{{font-family:"Yijian Tibetan";src:url("{}") format("woff2");unicode-range:U+0F00-0FFF;font-display:swap}}
span[lang=bo]{{font-family:"Yijian Tibetan","PingFang SC","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif}}
.bi{{display:inline-block;vertical-align:top;max-width:100%}}
.bi>span{{display:block}}
.bi>.bo{{line-height:1.9;font-size:1.05em}}
.bi>.zh{{font-size:.85em;line-height:1.4}}
.review-note{{font-size:.85rem;border-left:6px solid #7a5a00;background:#fff8e1;padding:8px 12px;border-radius:6px;margin:0 0 16px}}
"#,
        i18n::font_path()
    )
}

/// How a page offers the other language. Where the resident has typed something, switching
/// posts what was typed so nothing is lost.
#[derive(Debug)]
pub enum Switch<'a> {
    /// A plain link to this page in the other language (`href` without `lang`).
    Link(String),
    /// A button of the page's form `form` (its id): the form is posted with `lang` and shown
    /// again, as typed, in the other language.
    FormButton(&'a str),
    /// A small form of its own posting `fields` to `action` with `lang`.
    Post {
        action: &'a str,
        fields: Vec<(&'a str, &'a str)>,
    },
}

/// What the switch says: the language it leads to, in that language.
fn switch_label(to: Lang) -> Markup {
    match to {
        Lang::Bo => html! { span lang="bo" { "བོད་ཡིག" } " 藏文" },
        Lang::Zh => html! { span translate="no" { "中文" } },
    }
}

fn switch_markup(lang: Lang, switch: &Switch<'_>) -> Markup {
    let to = lang.other();
    html! {
        @match switch {
            Switch::Link(href) => {
                @let sep = if href.contains('?') { "&" } else { "?" };
                a.switch id="lang-switch" hreflang=(to.code()) href={(href) (sep) "lang=" (to.code())} { (switch_label(to)) }
            }
            Switch::FormButton(form) => {
                button.switch id="lang-switch" type="submit" form=(form) name="lang" value=(to.code()) formnovalidate { (switch_label(to)) }
            }
            Switch::Post { action, fields } => {
                form.switch-form method="post" action=(action) {
                    @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
                    button.switch id="lang-switch" type="submit" name="lang" value=(to.code()) { (switch_label(to)) }
                }
            }
        }
    }
}

/// A resident page: title bar with the language switch, the content, a footer. Tibetan pages
/// carry the font, Chinese beside every Tibetan text, and a note while translations await review.
pub fn resident_page(
    lang: Lang,
    title: &str,
    subtitle: Option<Markup>,
    switch: Switch<'_>,
    body: Markup,
) -> Markup {
    let tibetan = lang == Lang::Bo;
    html! {
        (DOCTYPE)
        html lang=(if tibetan { "bo" } else { "zh-CN" }) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="format-detection" content="telephone=no";
                title { (lang.plain(title)) " · 一键申报" }
                style { (PreEscaped(RESIDENT_CSS)) @if tibetan { (PreEscaped(tibetan_css())) } }
            }
            body {
                header {
                    div.bar {
                        h1 { (lang.t(title)) }
                        (switch_markup(lang, &switch))
                    }
                    @if let Some(s) = subtitle { p { (s) } }
                }
                main {
                    @if tibetan && i18n::catalogue().has_unreviewed() {
                        p.review-note id="review-note" { (lang.t("藏文译文尚未经母语人士审校，以中文为准。")) }
                    }
                    (body)
                }
                footer { (lang.t("防止返贫动态监测和帮扶 · 一键申报")) }
            }
        }
    }
}

/// A page that says something went wrong, in plain words, with a way back.
pub fn resident_message(
    lang: Lang,
    title: &str,
    message: &str,
    back: Option<(&str, &str)>,
    switch: Switch<'_>,
) -> Markup {
    resident_page(
        lang,
        title,
        None,
        switch,
        html! {
            div.card {
                p.alert { (lang.t(message)) }
                @if let Some((href, label)) = back {
                    a.button.secondary href=(href) { (lang.t(label)) }
                }
            }
        },
    )
}

/// A labelled field with its error beside it (and `aria-describedby` so screen readers read
/// the error with the field). Label, hint and error are Chinese, shown in the page's language.
pub fn field(
    lang: Lang,
    name: &str,
    label: &str,
    hint: Option<&str>,
    error: Option<&str>,
    input: Markup,
) -> Markup {
    let err_id = format!("err-{name}");
    html! {
        div.field.bad[error.is_some()] data-field=(name) {
            label for=(name) { (lang.t(label)) @if let Some(h) = hint { span.hint { (lang.t(h)) } } }
            (input)
            @if let Some(e) = error { span.err id=(err_id) role="alert" { (lang.t(e)) } }
        }
    }
}

/// A receipt number that wraps only at its hyphens (WeChat's care mode enlarges text).
pub fn receipt_markup(receipt: &str) -> Markup {
    let parts: Vec<&str> = receipt.split('-').collect();
    html! {
        @for (i, part) in parts.iter().enumerate() {
            (part)
            @if i + 1 < parts.len() { "-" wbr; }
        }
    }
}
