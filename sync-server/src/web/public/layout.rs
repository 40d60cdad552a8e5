//! Page layouts of the server: the resident pages (declaration form, receipt, status) and the
//! pieces they share.
//!
//! Residents are often elderly, on cheap phones, in WeChat's in-app browser (whose care mode
//! enlarges text to ~24 px), on 2G. So the pages are server-rendered HTML that works with
//! JavaScript off, one small inline stylesheet (no font, image or script downloads), body text
//! 20 px and up, high contrast, touch targets ≥ 60 px, everything in one column, and errors
//! written in words beside the field. Markup goes through maud, which escapes every value.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The stylesheet of the resident pages (inline: one request per page on a 2G link).
pub const RESIDENT_CSS: &str = r#"
*{box-sizing:border-box}
html{font-size:20px;-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font-family:"PingFang SC","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;line-height:1.5;color:#111;background:#f4f1ea}
header{background:#8b0000;color:#fff;padding:14px 16px}
header h1{margin:0;font-size:1.3rem;line-height:1.3}
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

/// A resident page: title bar, the content, a footer.
pub fn resident_page(title: &str, subtitle: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="format-detection" content="telephone=no";
                title { (title) " · 一键申报" }
                style { (PreEscaped(RESIDENT_CSS)) }
            }
            body {
                header {
                    h1 { (title) }
                    @if let Some(s) = subtitle { p { (s) } }
                }
                main { (body) }
                footer { "防止返贫动态监测和帮扶 · 一键申报" }
            }
        }
    }
}

/// A page that says something went wrong, in plain words, with a way back.
pub fn resident_message(title: &str, message: &str, back: Option<(&str, &str)>) -> Markup {
    resident_page(
        title,
        None,
        html! {
            div.card {
                p.alert { (message) }
                @if let Some((href, label)) = back {
                    a.button.secondary href=(href) { (label) }
                }
            }
        },
    )
}

/// A labelled field with its error beside it (and `aria-describedby` so screen readers read
/// the error with the field).
pub fn field(
    name: &str,
    label: &str,
    hint: Option<&str>,
    error: Option<&str>,
    input: Markup,
) -> Markup {
    let err_id = format!("err-{name}");
    html! {
        div.field.bad[error.is_some()] data-field=(name) {
            label for=(name) { (label) @if let Some(h) = hint { span.hint { (h) } } }
            (input)
            @if let Some(e) = error { span.err id=(err_id) role="alert" { (e) } }
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
